"""The contract's bounds as pure checks: each value outside names its field, and the cheap check agrees
with the one that names fields."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cartads import bounds
from cartads.v1 import admin_pb2
from cartads.v1.common_pb2 import AttributionKind, CartEvent, EventType

NOW_S = 1_780_000_000


def test_a_time_of_ten_to_the_fifteen_seconds_is_refused() -> None:
    """Seconds of 10^15 are outside the event times a caller may send."""
    assert bounds.check_timestamp(10**15, 0, "t") == [("t", "must be a time from 2020-01-01 to 2100-01-01")]


def test_negative_nanos_are_refused() -> None:
    """Nanos of -1 are refused before the seconds are looked at."""
    assert bounds.check_timestamp(NOW_S, -1, "t") == [("t", "nanos must be between 0 and 999,999,999")]


def test_a_time_in_range_passes() -> None:
    """A time of 2026 is an event time."""
    assert bounds.check_timestamp(NOW_S, 999_999_999, "t") == []


def test_a_range_names_the_side_missed() -> None:
    """Below a range of 1.. says "> 0"; above says the maximum."""
    assert bounds.check_range(0, 1, 10, "f") == [("f", "must be > 0")]
    assert bounds.check_range(11, 1, 10, "f") == [("f", "must be at most 10")]


def test_nan_is_outside_every_range() -> None:
    """A NaN weight is refused, not let through by failed comparisons."""
    assert bounds.check_range(float("nan"), 0.0, 100.0, "w") != []


def test_text_with_a_nul_is_refused() -> None:
    """A NUL cannot be stored in PostgreSQL text."""
    assert bounds.check_text("a\x00b", 10, "s") == [("s", "must not contain NUL characters")]


def test_an_edge_may_upload_what_a_cart_may_not_send() -> None:
    """A conversion with its attribution and shelf price is an edge's event, not a cart's."""
    conversion = CartEvent(
        event_id="c",
        type=EventType.EVENT_TYPE_CONVERSION,
        quantity=2,
        attribution=AttributionKind.ATTRIBUTION_KIND_VIEW_THROUGH,
        attributed_event_id="add-1",
        unit_price_micros=5_000_000,
    )
    assert bounds.event_violations(conversion, "e", from_cart=False) == []
    assert [field for field, _ in bounds.event_violations(conversion, "e", from_cart=True)] == [
        "e.quantity",
        "e.attribution",
        "e.attributed_event_id",
    ]


def test_a_shelf_price_over_a_thousand_dollars_is_refused_from_an_edge() -> None:
    """unit_price_micros is bounded at 10^9 in an upload."""
    event = CartEvent(event_id="a", type=EventType.EVENT_TYPE_BASKET_ADD, quantity=1, unit_price_micros=10**9 + 1)
    assert bounds.event_violations(event, "e", from_cart=False) == [
        ("e.unit_price_micros", "must be at most 1,000,000,000")
    ]


_TEXT = st.text(alphabet=st.sampled_from("ab\x00"), max_size=3) | st.just("x" * 129)
_EVENTS = st.builds(
    CartEvent,
    event_id=_TEXT,
    type=st.sampled_from(list(EventType.values())),
    cart_id=_TEXT,
    session_id=_TEXT,
    tracking_token=st.sampled_from(["", "t", "t" * 1_025]),
    ad_id=_TEXT,
    product_id=_TEXT,
    quantity=st.sampled_from([-1, 0, 1, 999, 1_000, 2**31 - 1]),
    visible_duration_ms=st.sampled_from([-1, 0, 1_000, 86_400_000, 86_400_001]),
    attribution=st.sampled_from(list(AttributionKind.values())),
    attributed_event_id=st.sampled_from(["", "x"]),
    unit_price_micros=st.sampled_from([-1, 0, 10**9, 10**9 + 1]),
)


@given(_EVENTS, st.sampled_from([None, (NOW_S, 0), (10**15, 0), (NOW_S, -1), (0, 0)]), st.booleans())
def test_the_cheap_check_agrees_with_the_named_one(
    event: CartEvent, occur: tuple[int, int] | None, from_cart: bool
) -> None:
    """event_within_bounds is True exactly when checking each field finds nothing."""
    if occur is not None:
        event.occur_time.seconds, event.occur_time.nanos = occur
    within = bounds.event_within_bounds(event, from_cart=from_cart)
    assert within == (bounds.event_field_violations(event, "e", from_cart=from_cart) == [])


def test_nul_in_nested_and_repeated_text_is_found() -> None:
    """Every text field holding a NUL is named, however deep or repeated."""
    item = admin_pb2.LineItem(display_name="ok", creative_ids=["a", "b\x00"])
    item.targeting.brands.append("x\x00")
    assert sorted(bounds.nul_violations(admin_pb2.CreateLineItemRequest(line_item=item))) == [
        ("line_item.creative_ids[1]", "must not contain NUL characters"),
        ("line_item.targeting.brands[0]", "must not contain NUL characters"),
    ]
