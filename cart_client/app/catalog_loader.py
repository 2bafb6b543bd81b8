"""The cart's catalog read from a directory in the Instacart sample's layout (by default the copy
shipped with CartAds), once at start, so the cart works with the store offline.
"""

from __future__ import annotations

from pathlib import Path

from cart_client.trip.catalog import CartCatalog, CatalogItem, in_store_barcode, tolerance_for
from cartads.sample.gtins import measure_ref, synthetic_gtin
from cartads.sample.instacart import Catalog, load_catalog


def cart_catalog_from_sample(catalog: Catalog) -> CartCatalog:
    """The cart's view of an Instacart-layout catalog."""
    departments = {d.department_id: d.name for d in catalog.departments}
    aisles = {a.aisle_id: a for a in catalog.aisles}
    items = []
    for p in catalog.products:
        department = departments.get(p.department_id, "missing")
        aisle = aisles.get(p.aisle_id)
        items.append(
            CatalogItem(
                product_id=p.product_id,
                name=p.name,
                price_micros=p.price_micros,
                weight_g=float(p.weight_g),
                tolerance_g=tolerance_for(p.weight_g, department),
                department=department,
                aisle_id=p.aisle_id,
                aisle_name=aisle.name if aisle else "",
                zone_id=aisle.zone_id if aisle else "",
                barcode=in_store_barcode(p.product_id) if p.product_id.isdigit() else "",
                gtin=gtin.zfill(14) if (gtin := synthetic_gtin(p.product_id)) else "",
                measure_ref=measure_ref(p.product_id, department),
            )
        )
    return CartCatalog(items)


def load_cart_catalog(data_dir: Path | None = None) -> CartCatalog:
    """Load a catalog directory in the Instacart layout (default: the shipped sample)."""
    return cart_catalog_from_sample(load_catalog(data_dir))


__all__ = ["cart_catalog_from_sample", "load_cart_catalog"]
