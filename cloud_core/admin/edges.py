"""AdminService.ListEdges: each edge's index sync status, as its stream last recorded it."""

from __future__ import annotations

from typing import Protocol

from cartads.rpc.errors import Ctx, InvalidArgumentError, maps_errors
from cartads.v1 import admin_pb2
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, encode_token
from cloud_core.storage.edges import edge_page_key
from cloud_core.storage.protocol import EdgeStatusStore


class _HasEdgeStore(Protocol):
    @property
    def _store(self) -> EdgeStatusStore: ...


class EdgeAdminMixin:
    """Mixed into AdminServicer, whose ``_store`` it reads."""

    @maps_errors
    async def ListEdges(  # noqa: N802
        self: _HasEdgeStore, request: admin_pb2.ListEdgesRequest, context: Ctx
    ) -> admin_pb2.ListEdgesResponse:
        if request.store_id:
            violations = v.check_id(request.store_id, "store_id")
            if violations:
                raise InvalidArgumentError(violations)
        query = f"edges:{request.store_id}"
        page = decode_request(request.page_size, request.page_token, query)
        edges = await self._store.list_edges(request.store_id, page)
        token = encode_token(edge_page_key(edges[page.limit - 1]), query) if len(edges) > page.limit else ""
        return admin_pb2.ListEdgesResponse(edges=edges[: page.limit], next_page_token=token)
