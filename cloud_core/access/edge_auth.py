"""Store binding: an edge (by its certificate or its edge token) may only act for its own store."""

from __future__ import annotations

from cartads.rpc.errors import Ctx
from cloud_core.access.auth import current_edge_caller, raise_for
from cloud_core.access.policy import authorize_edge_store


def require_store(context: Ctx, store_id: str) -> None:
    """Raise UnauthenticatedError or PermissionDeniedError unless the caller may act for ``store_id``."""
    raise_for(authorize_edge_store(current_edge_caller(context), store_id), "store_id")
