"""Turning real orders into sensor traces."""

from __future__ import annotations

import itertools
import random

import pytest

from cart_client.sensors.trace import Checkout, Scan, Touch, Vision, Weight, Zone
from cart_client.sim.trip_trace import PLAIN_SHOPPER, ProductPlacement, ShopperModel, trace_from_order

PLACEMENTS = {
    "banana": ProductPlacement("banana", "zone-24", 120.0),
    "apple": ProductPlacement("apple", "zone-24", 180.0),
    "milk": ProductPlacement("milk", "zone-84", 1030.0),
    "bread": ProductPlacement("bread", "zone-112", 500.0),
}
ZONE_ORDER = ["zone-24", "zone-84", "zone-112"]
ORDER = ["milk", "banana", "bread", "apple"]
PLAIN = PLAIN_SHOPPER


def test_same_seed_same_trace() -> None:
    """A seed fixes the trace."""
    first = trace_from_order(ORDER, PLACEMENTS, ZONE_ORDER, random.Random(7))
    second = trace_from_order(ORDER, PLACEMENTS, ZONE_ORDER, random.Random(7))
    assert first == second


def test_zones_follow_layout_and_products_follow_basket_order() -> None:
    """Zones come in layout order, each once; within a zone, products in basket order."""
    trace = trace_from_order(ORDER, PLACEMENTS, ZONE_ORDER, random.Random(1), click_probability=0.0, shopper=PLAIN)
    assert [
        (type(e).__name__, getattr(e, "zone_id", getattr(e, "product_id", "")))
        for e in trace
        if not isinstance(e, Weight)
    ] == [
        ("Zone", "zone-24"),
        ("Scan", "banana"),
        ("Scan", "apple"),
        ("Zone", "zone-84"),
        ("Scan", "milk"),
        ("Zone", "zone-112"),
        ("Scan", "bread"),
        ("Checkout", ""),
    ]


def test_every_scan_is_followed_by_a_plausible_weight() -> None:
    """After each scan the scale reads close to the product's weight."""
    trace = trace_from_order(ORDER, PLACEMENTS, ZONE_ORDER, random.Random(3), click_probability=0.0, shopper=PLAIN)
    for before, after in itertools.pairwise(trace):
        if isinstance(before, Scan):
            assert isinstance(after, Weight)
            expected = PLACEMENTS[before.product_id].weight_g
            assert abs(after.delta_g - expected) < max(20.0, expected * 0.2)


def test_times_increase_and_trace_ends_with_checkout() -> None:
    """t_ms never goes backwards, and the last event is the checkout."""
    trace = trace_from_order(ORDER, PLACEMENTS, ZONE_ORDER, random.Random(5), click_probability=0.5)
    times = [e.t_ms for e in trace]
    assert all(t is not None for t in times)
    assert times == sorted(times)  # type: ignore[type-var]
    assert isinstance(trace[-1], Checkout)
    assert sum(isinstance(e, Checkout) for e in trace) == 1


def test_shopper_who_always_looks_touches_after_every_product() -> None:
    """A shopper who always looks at the screen leaves one touch per product, carrying the click propensity."""
    trace = trace_from_order(ORDER, PLACEMENTS, ZONE_ORDER, random.Random(2), click_probability=0.3, shopper=PLAIN)
    touches = [e for e in trace if isinstance(e, Touch)]
    assert len(touches) == len(ORDER)
    assert {t.slot_id for t in touches} <= {"slot-0", "slot-1"}
    assert {t.propensity for t in touches} == {0.3}


def test_propensity_spreads_the_click_probability_over_the_looks() -> None:
    """Looking at the screen half the time doubles the propensity of each look."""
    model = ShopperModel(look_at_screen=0.5)
    trace = trace_from_order(
        ORDER * 10, PLACEMENTS, ZONE_ORDER, random.Random(2), click_probability=0.15, shopper=model
    )
    touches = [e for e in trace if isinstance(e, Touch)]
    assert 10 <= len(touches) <= 30
    assert {t.propensity for t in touches} == {0.3}


def test_camera_sightings_name_the_placed_product_with_high_confidence() -> None:
    """When the camera sees an item it is the product just weighed, at confidence >= 0.86."""
    model = ShopperModel(camera_sees_item=1.0, camera_false_sighting=0.0, look_at_screen=0.0)
    trace = trace_from_order(ORDER, PLACEMENTS, ZONE_ORDER, random.Random(6), click_probability=0.0, shopper=model)
    sightings = [(before, after) for before, after in itertools.pairwise(trace) if isinstance(after, Vision)]
    assert len(sightings) == len(ORDER)
    for weight, sighting in sightings:
        assert isinstance(weight, Weight)
        assert sighting.confidence >= 0.86


def test_forgotten_scans_leave_a_weight_and_a_sighting() -> None:
    """A shopper who never scans still puts items on the scale, and the camera sees each one."""
    model = ShopperModel(forgets_to_scan=1.0, camera_false_sighting=0.0, look_at_screen=0.0)
    trace = trace_from_order(ORDER, PLACEMENTS, ZONE_ORDER, random.Random(6), click_probability=0.0, shopper=model)
    assert not any(isinstance(e, Scan) for e in trace)
    assert sum(isinstance(e, Weight) for e in trace) == sum(isinstance(e, Vision) for e in trace) == len(ORDER)


def test_put_back_items_leave_a_weight_drop() -> None:
    """A shopper who puts items back leaves negative scale readings."""
    model = ShopperModel(puts_item_back=1.0, camera_false_sighting=0.0, look_at_screen=0.0, camera_sees_item=0.0)
    trace = trace_from_order(ORDER, PLACEMENTS, ZONE_ORDER, random.Random(6), click_probability=0.0, shopper=model)
    assert sum(isinstance(e, Weight) and e.delta_g < 0 for e in trace) == len(ORDER)


def test_barcoded_products_are_scanned_by_code() -> None:
    """A placement with a barcode is scanned as that code, without a product id."""
    placements = {"milk": ProductPlacement("milk", "zone-84", 1030.0, code="2000000000017")}
    trace = trace_from_order(["milk"], placements, ZONE_ORDER, random.Random(1), click_probability=0.0, shopper=PLAIN)
    (scan,) = [e for e in trace if isinstance(e, Scan)]
    assert (scan.product_id, scan.code) == ("", "2000000000017")


def test_click_probability_zero_never_touches() -> None:
    """With probability 0 there are no touches."""
    trace = trace_from_order(ORDER * 5, PLACEMENTS, ZONE_ORDER, random.Random(2), click_probability=0.0)
    assert not any(isinstance(e, Touch) for e in trace)


def test_unplaced_products_are_left_out_and_unlisted_zones_come_last() -> None:
    """A product with no placement is not scanned; a zone missing from the layout is visited last."""
    placements = {**PLACEMENTS, "kale": ProductPlacement("kale", "zone-999", 90.0)}
    trace = trace_from_order(
        ["kale", "ghost", "milk"], placements, ZONE_ORDER, random.Random(4), click_probability=0.0, shopper=PLAIN
    )
    assert [e.zone_id for e in trace if isinstance(e, Zone)] == ["zone-84", "zone-999"]
    assert [e.product_id for e in trace if isinstance(e, Scan)] == ["milk", "kale"]


def test_empty_order_is_just_a_checkout() -> None:
    """A trip that buys nothing still checks out."""
    assert [type(e) for e in trace_from_order([], PLACEMENTS, ZONE_ORDER, random.Random(0))] == [Checkout]


def test_click_probability_out_of_range_is_refused() -> None:
    """A probability outside [0, 1] is a caller error."""
    with pytest.raises(ValueError, match="click_probability"):
        trace_from_order(ORDER, PLACEMENTS, ZONE_ORDER, random.Random(0), click_probability=1.5)
