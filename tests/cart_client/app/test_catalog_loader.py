"""The cart's catalog read from the shipped Instacart sample."""

from __future__ import annotations

from cart_client.app.catalog_loader import load_cart_catalog


def test_sample_catalog_resolves_barcodes_and_weights() -> None:
    """The shipped sample loads with names, prices, weights and department tolerances."""
    catalog = load_cart_catalog()
    banana = catalog.get(catalog.product_for_code("2000000248523") or "")
    assert banana is not None
    assert (banana.name, banana.department, banana.zone_id) == ("Banana", "produce", "zone-24")
    assert banana.weight_g > 0
    assert banana.price_micros > 0
    assert banana.tolerance_g == max(15.0, banana.weight_g * 0.20)
