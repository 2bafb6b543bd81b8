"""The cart's catalog: in-store barcodes."""

from __future__ import annotations

from cart_client.trip.catalog import ean13_check_digit, in_store_barcode


def test_in_store_barcode_is_a_valid_ean13() -> None:
    """Sample products get GS1 in-store EAN-13 codes (prefix 200) with a correct check digit."""
    code = in_store_barcode("24852")
    assert code == "2000000248523"
    assert ean13_check_digit("400638133393") == "1"  # a real GTIN-13: 4006381333931
