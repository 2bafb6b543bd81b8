"""Synthetic barcodes for the sample catalog, so that scans of printed codes resolve to products.

The Instacart data set has no barcodes. Each product with a numeric id up to 99999 gets a GTIN made
from that id, in one of three forms so that every retail symbology occurs in the sample:

* id % 3 == 0: an EAN-8, ``96`` + the id in 5 digits + check digit;
* id % 3 == 1: a UPC-A, ``0 87654`` + the id in 5 digits + check digit;
* id % 3 == 2: an EAN-13, ``400 7654`` + the id in 5 digits + check digit.

Products of the weighed departments (produce, meat seafood, deli, bulk) also get a variable-measure
item reference, the id in 5 digits, which the store's scale labels print (prefix 02/2 with a price,
28/29 with a weight; see docs/SENSORS.md). These numbers are SYNTHETIC: they were not assigned by
GS1, may coincide with real products' codes, and must never be used outside this sample.
"""

from __future__ import annotations

WEIGHED_DEPARTMENTS = frozenset({"produce", "meat seafood", "deli", "bulk"})

_EAN8_PREFIX = "96"
_UPC_PREFIX = "087654"
_EAN13_PREFIX = "4007654"


def _check_digit(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def _id5(product_id: str) -> str | None:
    if not product_id.isdigit() or not 0 < int(product_id) <= 99_999:
        return None
    return product_id.zfill(5)


def synthetic_gtin(product_id: str) -> str:
    """The GTIN printed on the product (8, 12 or 13 digits), or "" when its id does not fit."""
    id5 = _id5(product_id)
    if id5 is None:
        return ""
    prefix = (_EAN8_PREFIX, _UPC_PREFIX, _EAN13_PREFIX)[int(product_id) % 3]
    body = prefix + id5
    return body + _check_digit(body)


def measure_ref(product_id: str, department: str) -> str:
    """The item reference of a weighed product's scale labels, or "" for a packaged product."""
    id5 = _id5(product_id)
    return id5 if id5 is not None and department in WEIGHED_DEPARTMENTS else ""


__all__ = ["WEIGHED_DEPARTMENTS", "measure_ref", "synthetic_gtin"]
