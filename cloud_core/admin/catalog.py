"""AdminService's store catalogs: the ImportCatalog stream, and listing a store's products and aisles."""

from __future__ import annotations

from collections.abc import AsyncIterator

from cartads.rpc.errors import InvalidArgumentError
from cartads.v1 import admin_pb2
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, next_token
from cloud_core.admin.request_checks import existing, raise_if
from cloud_core.storage.protocol import CatalogStore
from cloud_core.sync.notifier import ChangeNotifier


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
