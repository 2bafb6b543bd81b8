"""The cart's catalog read from the shipped Instacart sample."""

from __future__ import annotations

from cart_client.app.catalog_loader import load_cart_catalog
from cartads.sample.instacart import derive_price_micros, derive_weight_g, load_catalog


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


def test_sample_products_carry_synthetic_gtins_and_weighed_items_a_label_reference() -> None:
    """Every sample product's printed GTIN resolves to it; only weighed departments get a label reference."""
    from cart_client.trip.scanning import ResolvedScan, resolve_scan
    from cartads.sample.gtins import synthetic_gtin

    sample = load_catalog()
    catalog = load_cart_catalog()
    # One product of each form: EAN-8 (id % 3 == 0), UPC-A (1), EAN-13 (2).
    for residue in range(3):
        product_id = next(p.product_id for p in sample.products if int(p.product_id) % 3 == residue)
        assert resolve_scan(catalog, synthetic_gtin(product_id)) == ResolvedScan(product_id)
    items = [catalog.get(p.product_id) for p in sample.products]
    weighed = {item.department for item in items if item is not None and item.measure_ref}
    assert weighed == {"produce", "meat seafood", "deli", "bulk"}
