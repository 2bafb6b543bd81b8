"""AdminService's stores: create, get, list, update, delete. A new store gets its own signing key."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from cartads.rpc.errors import FailedPreconditionError
from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import PageRequest, decode_request, next_token
from cloud_core.admin.request_checks import choose_id, existing, merge, raise_if
from cloud_core.storage.protocol import CatalogStore, EdgeStatusStore
from cloud_core.sync.notifier import ChangeNotifier

SIGNING_KEY_BYTES = 32
# More edges than one store ever has: deleting a store looks at all of them.
_EDGES_CHECKED = 1000


class StoreAdmin:
    """The store methods; each change is announced to that store's index stream."""

    def __init__(
        self,
        catalog: CatalogStore,
        edges: EdgeStatusStore,
        notifier: ChangeNotifier,
        clock: Callable[[], datetime],
    ) -> None:
        self._catalog = catalog
        self._edges = edges
        self._notifier = notifier
        self._clock = clock

    async def create(self, request: admin_pb2.CreateStoreRequest) -> admin_pb2.CreateStoreResponse:
        store = admin_pb2.Store()
        store.CopyFrom(request.store)
        store.store_id = choose_id(request.store_id, store.store_id, "store_id", "store")
        store.time_zone = store.time_zone or "UTC"
        raise_if(v.validate_store(store))
        store.create_time.CopyFrom(dt_to_ts(self._clock()))
        await self._catalog.create_store(store, secrets.token_bytes(SIGNING_KEY_BYTES))
        self._notifier.notify([store.store_id])
        return admin_pb2.CreateStoreResponse(store=store)

    async def get(self, request: admin_pb2.GetStoreRequest) -> admin_pb2.GetStoreResponse:
        return admin_pb2.GetStoreResponse(
            store=await existing("store", request.store_id, "store_id", self._catalog.get_store)
        )

    async def list_page(self, request: admin_pb2.ListStoresRequest) -> admin_pb2.ListStoresResponse:
        query = "stores"
        page = decode_request(request.page_size, request.page_token, query)
        rows = await self._catalog.list_stores(page)
        token = next_token([r.store_id for r in rows], page.limit, query)
        return admin_pb2.ListStoresResponse(stores=rows[: page.limit], next_page_token=token)

    async def update(self, request: admin_pb2.UpdateStoreRequest) -> admin_pb2.UpdateStoreResponse:
        current = await existing("store", request.store.store_id, "store.store_id", self._catalog.get_store)
        merged = merge(current, request.store, request.update_mask, "store")
        raise_if(v.validate_store(merged))
        await self._catalog.update_store(merged)
        self._notifier.notify([merged.store_id])
        return admin_pb2.UpdateStoreResponse(store=merged)

    async def delete(self, request: admin_pb2.DeleteStoreRequest) -> admin_pb2.DeleteStoreResponse:
        """Refused while an edge of the store is connected: it would keep serving a store that is gone."""
        raise_if(v.check_required_id(request.store_id, "store_id"))
        edges = await self._edges.list_edges(request.store_id, PageRequest("", _EDGES_CHECKED))
        connected = [e.edge_id for e in edges if e.connected]
        if connected:
            raise FailedPreconditionError(
                f"store {request.store_id!r} still has connected edges ({', '.join(connected)}); stop them first"
            )
        await self._catalog.delete_store(request.store_id)
        self._notifier.notify([request.store_id])
        return admin_pb2.DeleteStoreResponse()
