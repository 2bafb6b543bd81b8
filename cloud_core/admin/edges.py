"""AdminService.ListEdges: each edge's index sync status, as its stream last recorded it."""

from __future__ import annotations

from cartads.v1 import admin_pb2
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, edge_page_key, encode_token
from cloud_core.admin.request_checks import raise_if
from cloud_core.storage.protocol import EdgeStatusStore


class EdgeAdmin:
    """The edge listing, of every store or of one."""

    def __init__(self, edges: EdgeStatusStore) -> None:
        self._edges = edges

    async def list_page(self, request: admin_pb2.ListEdgesRequest) -> admin_pb2.ListEdgesResponse:
        if request.store_id:
            raise_if(v.check_id(request.store_id, "store_id"))
        query = f"edges:{request.store_id}"
        page = decode_request(request.page_size, request.page_token, query)
        edges = await self._edges.list_edges(request.store_id, page)
        token = encode_token(edge_page_key(edges[page.limit - 1]), query) if len(edges) > page.limit else ""
        return admin_pb2.ListEdgesResponse(edges=edges[: page.limit], next_page_token=token)
