"""What the cart knows about the store's products: names, prices, unit weights, barcodes, aisles.

The cart needs unit weights to confirm scans on the scale, and names and prices to draw the basket.
The shell loads them once at start (``cart_client.app.catalog_loader``); here they are plain values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# How far a scale reading may be from a product's catalog weight and still be that product.
# Loose produce and weighed counters vary far more around their nominal weight than packaged goods.
DEFAULT_TOLERANCE_FRACTION = 0.10
DEPARTMENT_TOLERANCE_FRACTION: Mapping[str, float] = {
    "produce": 0.20,
    "bulk": 0.20,
    "meat seafood": 0.15,
    "deli": 0.15,
    "bakery": 0.15,
}
# A cart scale reads to a few grams, so light items get an absolute floor.
MIN_TOLERANCE_G = 15.0

# GS1 prefix 200-299 is for in-store numbering, which is what a sample catalog without real GTINs gets.
_IN_STORE_PREFIX = "200"


def ean13_check_digit(first12: str) -> str:
    """The GS1 check digit of a 12-digit body."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def in_store_barcode(product_id: str) -> str:
    """The EAN-13 a sample product is labelled with: 200, the id padded to 9 digits, a check digit."""
    body = _IN_STORE_PREFIX + product_id.zfill(9)
    if len(body) != 12 or not body.isdigit():
        raise ValueError(f"product id {product_id!r} does not fit an in-store EAN-13")
    return body + ean13_check_digit(body)


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """One product as the cart shows and weighs it."""

    product_id: str
    name: str = ""
    price_micros: int = 0
    weight_g: float = 0.0
    tolerance_g: float = MIN_TOLERANCE_G
    department: str = ""
    aisle_id: str = ""
    aisle_name: str = ""
    zone_id: str = ""
    barcode: str = ""
    # The product's GTIN as GTIN-14, and for a weighed item the item reference its scale labels print.
    gtin: str = ""
    measure_ref: str = ""


def tolerance_for(weight_g: float, department: str) -> float:
    """The scale tolerance of a product of this weight in this department."""
    fraction = DEPARTMENT_TOLERANCE_FRACTION.get(department, DEFAULT_TOLERANCE_FRACTION)
    return max(MIN_TOLERANCE_G, weight_g * fraction)


def zone_label(aisle_id: str, aisle_name: str) -> str:
    """A zone for the screen's header: "Refrigerated (aisle 31)", or "aisle 31" without a name."""
    aisle = f"aisle {aisle_id}" if aisle_id else ""
    if aisle_name and aisle:
        return f"{aisle_name[:1].upper()}{aisle_name[1:]} ({aisle})"
    return aisle_name or aisle


class CartCatalog:
    """Products by id and by barcode; unknown products are allowed (the scale then learns their weight)."""

    def __init__(self, items: Iterable[CatalogItem] = ()) -> None:
        self._by_id: dict[str, CatalogItem] = {}
        self._by_code: dict[str, str] = {}
        self._by_zone: dict[str, list[CatalogItem]] = {}
        self._by_gtin: dict[str, str] = {}
        self._by_ref: dict[str, str] = {}
        for item in items:
            self._by_id[item.product_id] = item
            if item.barcode:
                self._by_code[item.barcode] = item.product_id
            if item.zone_id:
                self._by_zone.setdefault(item.zone_id, []).append(item)
            if item.gtin:
                self._by_gtin[item.gtin.zfill(14)] = item.product_id
            if item.measure_ref:
                self._by_ref[item.measure_ref] = item.product_id

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, product_id: str) -> CatalogItem | None:
        """The product, or None when the catalog does not list it."""
        return self._by_id.get(product_id)

    def product_for_code(self, code: str) -> str | None:
        """The product a barcode belongs to, or None."""
        return self._by_code.get(code)

    def in_zone(self, zone_id: str) -> tuple[CatalogItem, ...]:
        """The products shelved in a zone, in catalog order."""
        return tuple(self._by_zone.get(zone_id, ()))

    def zone_name(self, zone_id: str) -> str:
        """The zone as a shopper knows it, e.g. "Refrigerated (aisle 31)": its aisle's name from the
        catalog, or "aisle 31" from its id when the catalog does not name it."""
        items = self._by_zone.get(zone_id)
        if items:
            return zone_label(items[0].aisle_id, items[0].aisle_name)
        return zone_label(zone_id.removeprefix("zone-"), "")

    def location(self, item: CatalogItem) -> str:
        """Where to find a product, as the edge's cards say it: "aisle 31 — refrigerated"."""
        if not item.aisle_id:
            return ""
        return f"aisle {item.aisle_id} — {item.aisle_name}" if item.aisle_name else f"aisle {item.aisle_id}"

    def product_for_gtin(self, gtin14: str) -> str | None:
        """The product with this GTIN-14, or None."""
        return self._by_gtin.get(gtin14)

    def product_for_measure_ref(self, item_ref: str) -> str | None:
        """The weighed product whose scale labels print this item reference, or None."""
        return self._by_ref.get(item_ref)

    def name(self, product_id: str) -> str:
        """The product's name for the screen, or a placeholder that still identifies it."""
        item = self._by_id.get(product_id)
        return item.name if item and item.name else f"Item {product_id}"


__all__ = [
    "DEFAULT_TOLERANCE_FRACTION",
    "DEPARTMENT_TOLERANCE_FRACTION",
    "MIN_TOLERANCE_G",
    "CartCatalog",
    "CatalogItem",
    "ean13_check_digit",
    "in_store_barcode",
    "tolerance_for",
    "zone_label",
]
