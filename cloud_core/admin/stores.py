"""AdminService's stores (create, get, list, update, delete; a new store gets its own signing key) and
their catalogs (the ImportCatalog stream, and listing a store's products and aisles)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from cartads import bounds
from cartads.rpc.errors import FailedPreconditionError, InvalidArgumentError
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


class CatalogAdmin:
    """The catalog methods of one existing store; an import is announced to that store's index stream."""

    def __init__(self, catalog: CatalogStore, notifier: ChangeNotifier) -> None:
        self._catalog = catalog
        self._notifier = notifier

    async def import_catalog(
        self, request: AsyncIterator[admin_pb2.ImportCatalogRequest]
    ) -> admin_pb2.ImportCatalogResponse:
        """Every message names the same store; aisles and departments may be new in this import."""
        store_id = ""
        aisles: list[admin_pb2.Aisle] = []
        departments: list[admin_pb2.Department] = []
        products: list[admin_pb2.Product] = []
        async for message in request:
            if not message.store_id:
                raise InvalidArgumentError([("store_id", "is required in every message")])
            if store_id and message.store_id != store_id:
                raise InvalidArgumentError([("store_id", "every message must name the same store")])
            store_id = message.store_id
            raise_if(bounds.nul_violations(message)[:20])
            aisles.extend(message.aisles)
            departments.extend(message.departments)
            products.extend(message.products)
        if not store_id:
            raise InvalidArgumentError([("store_id", "is required")])
        await self._store(store_id)
        known_aisles, known_depts = await self._catalog.catalog_parent_ids(store_id)
        raise_if(
            v.validate_catalog(
                aisles,
                departments,
                products,
                known_aisles | {a.aisle_id for a in aisles},
                known_depts | {d.department_id for d in departments},
            )
        )
        await self._catalog.import_catalog(store_id, aisles, departments, products)
        self._notifier.notify([store_id])
        return admin_pb2.ImportCatalogResponse(
            aisle_count=len(aisles), department_count=len(departments), product_count=len(products)
        )

    async def list_products(self, request: admin_pb2.ListProductsRequest) -> admin_pb2.ListProductsResponse:
        query = f"products:{request.store_id}"
        page = decode_request(request.page_size, request.page_token, query)
        await self._store(request.store_id)
        rows = await self._catalog.list_products(request.store_id, page)
        token = next_token([r.product_id for r in rows], page.limit, query)
        return admin_pb2.ListProductsResponse(products=rows[: page.limit], next_page_token=token)

    async def list_aisles(self, request: admin_pb2.ListAislesRequest) -> admin_pb2.ListAislesResponse:
        query = f"aisles:{request.store_id}"
        page = decode_request(request.page_size, request.page_token, query)
        await self._store(request.store_id)
        rows = await self._catalog.list_aisles(request.store_id, page)
        token = next_token([r.aisle_id for r in rows], page.limit, query)
        return admin_pb2.ListAislesResponse(aisles=rows[: page.limit], next_page_token=token)

    async def _store(self, store_id: str) -> admin_pb2.Store:
        return await existing("store", store_id, "store_id", self._catalog.get_store)
