"""The sample catalog as AdminService.ImportCatalog messages."""

from __future__ import annotations

from collections.abc import Iterator

from cartads.sample.instacart import Catalog
from cartads.v1 import admin_pb2

# Products per message: well below the default 4 MiB gRPC message limit.
CATALOG_CHUNK = 2_000


def import_catalog_requests(
    store_id: str, catalog: Catalog, chunk: int = CATALOG_CHUNK
) -> Iterator[admin_pb2.ImportCatalogRequest]:
    """Aisles and departments first, then the products in chunks, all for one store."""
    yield admin_pb2.ImportCatalogRequest(
        store_id=store_id,
        aisles=[admin_pb2.Aisle(aisle_id=a.aisle_id, display_name=a.name, zone_id=a.zone_id) for a in catalog.aisles],
        departments=[
            admin_pb2.Department(department_id=d.department_id, display_name=d.name) for d in catalog.departments
        ],
    )
    for start in range(0, len(catalog.products), chunk):
        yield admin_pb2.ImportCatalogRequest(
            store_id=store_id,
            products=[
                admin_pb2.Product(
                    product_id=p.product_id,
                    display_name=p.name,
                    aisle_id=p.aisle_id,
                    department_id=p.department_id,
                    brand=p.brand,
                    price_micros=p.price_micros,
                )
                for p in catalog.products[start : start + chunk]
            ],
        )
