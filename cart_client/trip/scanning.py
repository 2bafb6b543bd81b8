"""What a scan means for the basket: the scanner's raw symbol resolved to a product of the catalog.

A symbol is decoded (``cart_client.barcodes``) and looked up by what it carries: a GTIN, a store's
in-store code, or a variable-measure item reference. A GTIN with indicator digit 9 (a weighed
item's GTIN on a DataBar label) also finds the product listed under the same GTIN with
indicator 0. A label's weight is what the scale must confirm; a label that states only a price
gives its weight through the product's catalog price per gram. A symbol that cannot be trusted (bad
check digit, bad verifier, unknown AI) is refused with the reason; one that decodes but names no
product of the catalog is unknown (the scale will flag the item if it goes in anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cart_client.barcodes import BarcodeError, Scanned, decode
from cart_client.barcodes.gtin import with_check_digit
from cart_client.barcodes.variable import DEFAULT_SCHEMES, VariableScheme
from cart_client.trip.catalog import CartCatalog


@dataclass(frozen=True, slots=True)
class ResolvedScan:
    """A product, and the weight its label states (variable-measure items only)."""

    product_id: str
    label_weight_g: float | None = None


@dataclass(frozen=True, slots=True)
class RefusedScan:
    """A symbol the cart does not trust, and why."""

    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class UnknownScan:
    """A valid symbol no product of the catalog carries."""

    code: str


def _product(catalog: CartCatalog, scanned: Scanned) -> str | None:
    if scanned.gtin:
        found = catalog.product_for_gtin(scanned.gtin)
        if found is None and scanned.gtin.startswith("9"):
            found = catalog.product_for_gtin(with_check_digit("0" + scanned.gtin[1:13]))
        return found
    if scanned.item_ref:
        return catalog.product_for_measure_ref(scanned.item_ref)
    return catalog.product_for_code(scanned.in_store_code)


def _label_weight(catalog: CartCatalog, product_id: str, scanned: Scanned) -> float | None:
    if scanned.weight_g is not None:
        return scanned.weight_g
    item = catalog.get(product_id)
    if scanned.price_micros is None or item is None or item.price_micros <= 0 or item.weight_g <= 0:
        return None
    # The catalog prices a weighed item by its nominal unit: the label's price buys that many grams.
    return scanned.price_micros * item.weight_g / item.price_micros


def resolve_scan(
    catalog: CartCatalog, code: str, schemes: Sequence[VariableScheme] = DEFAULT_SCHEMES
) -> ResolvedScan | RefusedScan | UnknownScan:
    """What the scanned ``code`` puts in the basket, why it is refused, or that it is unknown."""
    legacy = catalog.product_for_code(code)
    if legacy is not None:
        return ResolvedScan(legacy)
    try:
        scanned = decode(code, schemes)
    except BarcodeError as exc:
        return RefusedScan(code, str(exc))
    product_id = _product(catalog, scanned)
    if product_id is None:
        return UnknownScan(code)
    return ResolvedScan(product_id, _label_weight(catalog, product_id, scanned))


__all__ = ["RefusedScan", "ResolvedScan", "UnknownScan", "resolve_scan"]
