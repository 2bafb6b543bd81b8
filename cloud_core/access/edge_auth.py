"""Store binding: an edge (by its certificate or its edge token) may only act for its own store."""

from __future__ import annotations

import hashlib

from cartads.rpc.errors import Ctx
from cloud_core.access.auth import current_edge_caller, raise_for
from cloud_core.access.policy import authorize_edge_store


def require_store(context: Ctx, store_id: str) -> None:
    """Raise UnauthenticatedError or PermissionDeniedError unless the caller may act for ``store_id``."""
    raise_for(authorize_edge_store(current_edge_caller(context), store_id), "store_id")


def credential_label(context: Ctx) -> str:
    """The credential an edge call came with, for the record (never the secret): its API token id, or
    "cert:<sha256 prefix>" of its client certificate, or "none" on a plaintext loopback cloud."""
    caller = current_edge_caller(context)
    if caller.principal is not None:
        return caller.principal.token_id
    pem = b"".join(context.auth_context().get("x509_pem_cert", ()))
    if pem:
        return "cert:" + hashlib.sha256(pem).hexdigest()[:16]
    return "none"
