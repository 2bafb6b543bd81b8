"""Store binding: a call over mutual TLS may only subscribe to, or upload for, its certificate's store."""

from __future__ import annotations

from cartads.tls_identity import peer_identity
from cloud_core.errors import PermissionDeniedError
from cloud_core.rpc import Ctx


def require_store(context: Ctx, store_id: str) -> None:
    """Raise PermissionDeniedError unless the caller may act for ``store_id`` (plaintext callers may)."""
    identity = peer_identity(context.auth_context())
    if identity.may_act_for(store_id):
        return
    if not identity.stores:
        raise PermissionDeniedError("the client certificate binds no store", "store_id")
    bound = ", ".join(sorted(identity.stores))
    raise PermissionDeniedError(f"the client certificate is for store {bound}, not {store_id!r}", "store_id")
