"""The running pieces of one whole ad loop (a real cloud and edge on loopback) that the ``loop`` fixture
yields, and the store they serve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cartads.sample.instacart import Catalog, Order
from cloud_core.app.server import CloudServer
from edge_node.app.server import EdgeServer
from edge_node.config import EdgeConfig
from tests.cart_credentials import CloudEnroller
from tests.edge_node.helpers import STORE_ID

if TYPE_CHECKING:
    from cartads.v1.ad_service_pb2_grpc import AdServiceAsyncStub
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

__all__ = ["STORE_ID", "Loop"]


@dataclass
class Loop:
    """The running pieces of one ad loop and clients for them."""

    cloud: CloudServer
    edge: EdgeServer
    admin: AdminServiceAsyncStub
    ads: AdServiceAsyncStub
    catalog: Catalog
    orders: list[Order]
    edge_config: EdgeConfig
    # Secrets for cartads-admin (--token) and for extra edges of STORE_ID.
    admin_token: str = ""
    edge_token: str = ""
    # Enrols carts through ``admin`` as calls name them (``ads`` uses it); ``enroll`` gives a credential.
    carts: CloudEnroller | None = None
