"""The cart's catalog read from the shipped Instacart sample."""

from __future__ import annotations

from cart_client.app.catalog_loader import load_cart_catalog
from cartads.sample.instacart import derive_price_micros, derive_weight_g


def test_sample_catalog_resolves_barcodes_and_weights() -> None:
    """The shipped sample loads with names, prices, weights and department tolerances."""
    catalog = load_cart_catalog()
    banana = catalog.get(catalog.product_for_code("2000000248523") or "")
    assert banana is not None
    assert (banana.name, banana.department, banana.zone_id) == ("Banana", "produce", "zone-24")
    # The sample has no prices or weights: the cart takes the ones derived from it.
    assert (banana.weight_g, banana.price_micros) == (
        derive_weight_g("24852", "produce"),
        derive_price_micros("24852", "produce"),
    )
    assert banana.tolerance_g == max(15.0, banana.weight_g * 0.20)
