"""In-trip attribution: basket adds after an ad of the promoted product become one conversion."""

from __future__ import annotations

from cartads.v1.common_pb2 import AttributionKind, CartEvent, EventType
from edge_node.events.attribution import AdContext, Attributor, conversion_event_id

WINDOW_MS = 60_000
AD = AdContext("ad-1", "token-1", frozenset({"p1"}))


def ev(event_id: str, kind: int, at_ms: int, product_id: str = "", session_id: str = "s1") -> CartEvent:
    event = CartEvent(event_id=event_id, type=kind, cart_id="c1", session_id=session_id, product_id=product_id)  # type: ignore[arg-type]
    event.occur_time.FromMilliseconds(at_ms)
    return event


def impression(at_ms: int, event_id: str = "imp") -> CartEvent:
    return ev(event_id, EventType.EVENT_TYPE_IMPRESSION, at_ms)


def click(at_ms: int, event_id: str = "clk") -> CartEvent:
    return ev(event_id, EventType.EVENT_TYPE_CLICK, at_ms)


def add(at_ms: int, product_id: str = "p1", event_id: str = "add", session_id: str = "s1") -> CartEvent:
    return ev(event_id, EventType.EVENT_TYPE_BASKET_ADD, at_ms, product_id, session_id)


def test_add_after_impression_is_view_through() -> None:
    """An add of the promoted product after a viewable impression converts, view-through."""
    a = Attributor(WINDOW_MS, 100)
    [conversion] = a.observe([impression(1_000), add(5_000)], {"imp": AD}, 0)
    assert conversion.type == EventType.EVENT_TYPE_CONVERSION
    assert conversion.attribution == AttributionKind.ATTRIBUTION_KIND_VIEW_THROUGH
    assert (conversion.ad_id, conversion.tracking_token, conversion.product_id) == ("ad-1", "token-1", "p1")
    assert conversion.event_id == conversion_event_id("ad-1", "p1")
    assert conversion.attributed_event_id == "add"


def test_click_wins_over_view() -> None:
    """With both an impression and a click of the decision, the conversion is click-through."""
    a = Attributor(WINDOW_MS, 100)
    [conversion] = a.observe([impression(1_000), click(2_000), add(3_000)], {"imp": AD, "clk": AD}, 0)
    assert conversion.attribution == AttributionKind.ATTRIBUTION_KIND_CLICK_THROUGH


def test_one_conversion_per_decision_and_product() -> None:
    """A second add of the same product (even in a later call) makes no second conversion."""
    a = Attributor(WINDOW_MS, 100)
    assert len(a.observe([impression(1_000), add(2_000)], {"imp": AD}, 0)) == 1
    assert a.observe([add(3_000, event_id="add-2")], {}, 0) == []


def test_add_outside_window_does_not_convert() -> None:
    """An add later than the window after the ad is not attributed."""
    a = Attributor(WINDOW_MS, 100)
    assert a.observe([impression(1_000), add(1_000 + WINDOW_MS + 1)], {"imp": AD}, 0) == []


def test_add_before_the_ad_does_not_convert() -> None:
    """An add that happened before the impression is not caused by it."""
    a = Attributor(WINDOW_MS, 100)
    assert a.observe([add(500), impression(1_000)], {"imp": AD}, 0) == []


def test_other_product_or_trip_does_not_convert() -> None:
    """Adds of another product, or in another session, are not attributed."""
    a = Attributor(WINDOW_MS, 100)
    a.observe([impression(1_000)], {"imp": AD}, 0)
    assert a.observe([add(2_000, product_id="p2")], {}, 0) == []
    assert a.observe([add(2_000, session_id="s2")], {}, 0) == []


def test_unverified_ad_events_are_ignored() -> None:
    """An impression whose token did not verify (absent from ``ads``) attributes nothing."""
    a = Attributor(WINDOW_MS, 100)
    assert a.observe([impression(1_000), add(2_000)], {}, 0) == []


def test_oldest_trips_are_forgotten() -> None:
    """Only the most recent trips are remembered."""
    a = Attributor(WINDOW_MS, 1)
    a.observe([impression(1_000)], {"imp": AD}, 0)
    a.observe([ev("i2", EventType.EVENT_TYPE_IMPRESSION, 1_000, session_id="s2")], {"i2": AD}, 0)
    assert len(a) == 1
    assert a.observe([add(2_000)], {}, 0) == []
