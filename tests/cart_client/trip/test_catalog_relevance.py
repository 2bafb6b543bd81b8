"""The cart's catalog (barcodes, weights from the sample) and ad relevance for simulated taps."""

from __future__ import annotations

from cart_client.sim.relevance import decides_to_tap, relevance, tap_probability
from cart_client.trip.catalog import CartCatalog, CatalogItem, ean13_check_digit, in_store_barcode
from cart_client.trip.core import ScreenAd

CATALOG = CartCatalog(
    [
        CatalogItem("banana", aisle_id="24", department="produce"),
        CatalogItem("apple", aisle_id="24", department="produce"),
        CatalogItem("kale", aisle_id="83", department="produce"),
        CatalogItem("soda", aisle_id="77", department="beverages"),
    ]
)


def promoting(product_id: str) -> ScreenAd:
    return ScreenAd(ad_id="a", slot_id="slot-0", tracking_token="t", promoted_product_id=product_id)


def test_in_store_barcode_is_a_valid_ean13() -> None:
    """Sample products get GS1 in-store EAN-13 codes (prefix 200) with a correct check digit."""
    code = in_store_barcode("24852")
    assert code == "2000000248523"
    assert ean13_check_digit("400638133393") == "1"  # a real GTIN-13: 4006381333931


def test_sample_catalog_resolves_barcodes_and_weights() -> None:
    """The shipped sample loads with names, prices, weights and department tolerances."""
    catalog = CartCatalog.load()
    banana = catalog.get(catalog.product_for_code("2000000248523") or "")
    assert banana is not None
    assert (banana.name, banana.department, banana.zone_id) == ("Banana", "produce", "zone-24")
    assert banana.weight_g > 0
    assert banana.price_micros > 0
    assert banana.tolerance_g == max(15.0, banana.weight_g * 0.20)


def test_relevance_grows_with_how_close_the_ad_is_to_the_basket() -> None:
    """Same aisle beats same department beats elsewhere; an ad promoting nothing known is in between."""
    basket = ["banana"]
    assert relevance(promoting("apple"), basket, CATALOG) == 1.0
    assert relevance(promoting("kale"), basket, CATALOG) == 0.5
    assert relevance(promoting("soda"), basket, CATALOG) == 0.1
    assert relevance(promoting(""), basket, CATALOG) == 0.2


def test_tap_probability_grows_with_relevance_and_is_deterministic() -> None:
    """A more relevant ad is likelier to be tapped, and the same seed decides the same way."""
    assert tap_probability(0.3, 0.1) < tap_probability(0.3, 0.5) < tap_probability(0.3, 1.0) <= 1.0
    assert tap_probability(0.0, 1.0) == 0.0
    decisions = [decides_to_tap(0.3, 0.5, f"trip:{n}") for n in range(400)]
    assert decisions == [decides_to_tap(0.3, 0.5, f"trip:{n}") for n in range(400)]
    assert 0.2 < sum(decisions) / len(decisions) < 0.4
