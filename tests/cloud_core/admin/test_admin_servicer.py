"""AdminServicer's wiring: every RPC of the contract is a method of its own."""

from __future__ import annotations

from cartads.v1 import admin_pb2
from cloud_core.admin.service import AdminServicer

_METHODS = admin_pb2.DESCRIPTOR.services_by_name["AdminService"].methods_by_name


def test_every_rpc_is_defined_on_the_servicer_itself() -> None:
    """No AdminService method falls through to the generated base, which answers UNIMPLEMENTED."""
    missing = sorted(name for name in _METHODS if name not in vars(AdminServicer))
    assert missing == []
