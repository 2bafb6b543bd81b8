"""AdminService.ListEdges (each edge's index sync status as its stream last recorded it, its signing
keys and whether it uploaded forged charges), RevokeEdgeSigningKey and ClearEdgeFlag."""

from __future__ import annotations

import re
from collections.abc import Callable

from cartads.rpc.errors import InvalidArgumentError, NotFoundError
from cartads.time_units import now_us, us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, edge_page_key, encode_token
from cloud_core.admin.request_checks import raise_if
from cloud_core.events.charges import SigningKeyRecord
from cloud_core.storage.protocol import EdgeStatusStore, SigningKeyStore
from cloud_core.sync.notifier import ChangeNotifier

_KEY_ID = re.compile(r"[0-9a-f]{16}")


def key_info(record: SigningKeyRecord) -> admin_pb2.EdgeSigningKeyInfo:
    """A key as admins see it: never its bytes."""
    info = admin_pb2.EdgeSigningKeyInfo(
        key_id=record.key_id,
        store_id=record.store_id,
        edge_id=record.edge_id,
        registered_by=record.registered_by,
        create_time=us_to_ts(record.create_time_us),
    )
    if record.revoke_time_us:
        info.revoke_time.CopyFrom(us_to_ts(record.revoke_time_us))
    return info


class EdgeAdmin:
    """The edge listing (of every store or of one), key revocation and flag clearing."""

    def __init__(
        self,
        edges: EdgeStatusStore,
        keys: SigningKeyStore,
        notifier: ChangeNotifier,
        clock: Callable[[], int] = now_us,
    ) -> None:
        self._edges = edges
        self._keys = keys
        self._notifier = notifier
        self._clock = clock

    async def list_page(self, request: admin_pb2.ListEdgesRequest) -> admin_pb2.ListEdgesResponse:
        if request.store_id:
            raise_if(v.check_id(request.store_id, "store_id"))
        query = f"edges:{request.store_id}"
        page = decode_request(request.page_size, request.page_token, query)
        edges = await self._edges.list_edges(request.store_id, page)
        token = encode_token(edge_page_key(edges[page.limit - 1]), query) if len(edges) > page.limit else ""
        shown = edges[: page.limit]
        keys: dict[tuple[str, str], list[SigningKeyRecord]] = {}
        for record in await self._keys.edge_keys(request.store_id):
            keys.setdefault((record.store_id, record.edge_id), []).append(record)
        for edge in shown:
            edge.signing_keys.extend(key_info(r) for r in keys.get((edge.store_id, edge.edge_id), ()))
        return admin_pb2.ListEdgesResponse(edges=shown, next_page_token=token)

    async def revoke_key(
        self, request: admin_pb2.RevokeEdgeSigningKeyRequest
    ) -> admin_pb2.RevokeEdgeSigningKeyResponse:
        if not _KEY_ID.fullmatch(request.key_id):
            raise InvalidArgumentError([("key_id", "must be 16 lowercase hex characters")])
        record = await self._keys.revoke_key(request.key_id, self._clock())
        if record is None:
            raise NotFoundError(f"signing key {request.key_id!r} does not exist", "key_id")
        # Wakes the store's index streams on every replica: the one holding this key ends, and its
        # edge makes a new key at once.
        self._notifier.notify([record.store_id])
        return admin_pb2.RevokeEdgeSigningKeyResponse(key=key_info(record))

    async def clear_flag(self, request: admin_pb2.ClearEdgeFlagRequest) -> admin_pb2.ClearEdgeFlagResponse:
        raise_if(v.check_id(request.store_id, "store_id") + v.check_id(request.edge_id, "edge_id"))
        if not await self._keys.clear_flag(request.store_id, request.edge_id):
            raise NotFoundError(f"edge {request.edge_id!r} of store {request.store_id!r} does not exist", "edge_id")
        listed = await self.list_page(admin_pb2.ListEdgesRequest(store_id=request.store_id, page_size=1000))
        edge = next(e for e in listed.edges if e.edge_id == request.edge_id)
        return admin_pb2.ClearEdgeFlagResponse(edge=edge)
