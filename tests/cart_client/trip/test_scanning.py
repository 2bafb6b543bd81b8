"""Scans resolved to products: every barcode kind a store prints, refusals with a reason, label weights."""

from __future__ import annotations

import itertools

import pytest

from cart_client.barcodes.gtin import price_verifier_digit, with_check_digit
from cart_client.sensors.trace import ScaleReading, Scan, Touch, Zone
from cart_client.trip.catalog import CartCatalog, CatalogItem
from cart_client.trip.core import CartTrip
from cart_client.trip.scanning import RefusedScan, ResolvedScan, UnknownScan, resolve_scan

CATALOG = CartCatalog(
    [
        CatalogItem("cola", "Cola", price_micros=990_000, weight_g=360.0, tolerance_g=36.0, gtin="00036000241457"),
        CatalogItem("jam", "Jam", weight_g=340.0, tolerance_g=34.0, gtin="04006381333931"),
        CatalogItem("gum", "Gum", weight_g=30.0, tolerance_g=15.0, gtin="00000096385074"),
        CatalogItem("cheese", "Cheese", weight_g=250.0, tolerance_g=37.5, gtin="09501101530003", department="deli"),
        # Priced by its nominal 500 g unit: 6.00 buys 500 g, so a 4.50 label is 375 g.
        CatalogItem(
            "steak", "Steak", price_micros=6_000_000, weight_g=500.0, department="meat seafood", measure_ref="24852"
        ),
        CatalogItem("bread", "House bread", weight_g=400.0, barcode="2000000248523"),
    ]
)


def _price_label(item_ref: str, cents: str) -> str:
    return with_check_digit("2" + item_ref + price_verifier_digit(cents) + cents)


@pytest.mark.parametrize(
    ("code", "product", "label_weight_g"),
    [
        ("036000241457", "cola", None),
        ("]E00036000241457", "cola", None),
        ("4006381333931", "jam", None),
        ("]E496385074", "gum", None),
        ("]C10109501101530003", "cheese", None),
        ("(01)09501101530003(3103)000262", "cheese", 262.0),
        ("]e00199501101530006" + "3103000262" + "39220499", "cheese", 262.0),
        (_price_label("24852", "0450"), "steak", 375.0),
        (with_check_digit("28" + "24852" + "00612"), "steak", 612.0),
        ("2000000248523", "bread", None),
    ],
)
def test_every_barcode_kind_resolves_to_its_product(code: str, product: str, label_weight_g: float | None) -> None:
    """UPC-A, EAN-13, EAN-8, GS1-128, DataBar, price and weight labels and in-store codes find their product."""
    resolved = resolve_scan(CATALOG, code)
    assert resolved == ResolvedScan(product, label_weight_g)


def test_a_bad_check_digit_is_refused_with_the_reason() -> None:
    """One wrong digit refuses the scan and says which digit was expected."""
    resolved = resolve_scan(CATALOG, "036000241458")
    assert resolved == RefusedScan("036000241458", "bad check digit in UPC-A 036000241458: read 8, expected 7")


def test_a_valid_code_of_no_listed_product_is_unknown() -> None:
    """A well-formed GTIN the catalog does not list is unknown, not refused."""
    assert resolve_scan(CATALOG, "4006381333948") == UnknownScan("4006381333948")


def _trip() -> CartTrip:
    ids = itertools.count()
    return CartTrip(store_id="s", cart_id="c", session_id="t", new_id=lambda: f"id-{next(ids)}", catalog=CATALOG)


def test_the_trip_keeps_the_reason_of_a_refused_scan() -> None:
    """A refused symbol is counted and its reason kept for the shell to log; nothing is added."""
    trip = _trip()
    trip.feed(Scan("", 0, code="4006381333932"), 0)
    assert trip.counters.refused_codes == 1
    assert "expected 1" in trip.refused_scans[-1].reason
    assert trip.basket == {}


def test_a_weight_label_is_confirmed_by_the_stable_scale() -> None:
    """A 612 g steak label and a noisy scale settling 611 g higher put one steak in the basket."""
    trip = _trip()
    trip.feed(Zone("zone-1", 0), 0)
    for i, grams in enumerate([0.2, -0.1, 0.0, 0.3, 0.1]):
        trip.feed(ScaleReading(grams, 100 + i * 50), 100 + i * 50)
    trip.feed(Scan("", 1_000, code=with_check_digit("28" + "24852" + "00612")), 1_000)
    for i, grams in enumerate([300.0, 700.0, 611.4, 610.9, 611.2, 611.0, 610.7]):
        trip.feed(ScaleReading(grams, 1_500 + i * 50, motion=i < 2), 1_500 + i * 50)
    assert trip.basket == {"steak": 1}
    assert trip.counters.weight_changes == 1


def test_raw_readings_alone_do_not_start_the_trip() -> None:
    """An idle scale streaming its empty weight is not the shopper starting a trip."""
    trip = _trip()
    for i in range(10):
        trip.feed(ScaleReading(0.0, i * 50), i * 50)
    assert not trip.started
    assert trip.counters.scale_readings == 10


def test_the_tare_button_zeroes_the_scale_under_a_bag() -> None:
    """After the shopper's tare, a bag's weight settling is not an unexplained item."""
    trip = _trip()
    trip.feed(Zone("zone-1", 0), 0)
    for i in range(5):
        trip.feed(ScaleReading(0.0, 100 + i * 50), 100 + i * 50)
    trip.feed(Touch("", 1_000, button="tare"), 1_000)
    for i in range(5):
        trip.feed(ScaleReading(180.0, 1_200 + i * 50), 1_200 + i * 50)
    assert trip.mismatches() == ()
