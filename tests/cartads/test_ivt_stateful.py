"""The stateful invalid traffic rules: a trip's and a cart's earlier valid events decide, each at its threshold."""

from __future__ import annotations

import pytest

from cartads import ivt
from cartads.v1 import common_pb2
from cartads.v1.common_pb2 import CartEvent
from tests.cartads.ivt_cases import AD, event, payload

CLICK = common_pb2.EVENT_TYPE_CLICK
CONVERSION = common_pb2.EVENT_TYPE_CONVERSION
POLICY = ivt.DEFAULT_POLICY
SEEN = ivt.TripHistory(impressed_ad_ids=frozenset({AD}))
QUIET = ivt.CartWindow(impressions=100, clicks=0)


def judge(judged: CartEvent, trip: ivt.TripHistory = SEEN, window: ivt.CartWindow = QUIET) -> int:
    return ivt.judge_stateful(judged, payload(), trip, window, POLICY)


def test_click_after_a_valid_impression_is_valid() -> None:
    """A click on an ad the trip validly saw, with no cap or outlier near, breaks no rule."""
    assert judge(event(CLICK)) == ivt.VALID


@pytest.mark.parametrize("event_type", [common_pb2.EVENT_TYPE_IMPRESSION, common_pb2.EVENT_TYPE_BASKET_ADD])
def test_only_clicks_and_conversions_are_judged_by_history(event_type: int) -> None:
    """An impression or basket add with an empty history and an outlier cart still breaks no stateful rule."""
    assert judge(event(event_type), ivt.TripHistory(), ivt.CartWindow(impressions=0, clicks=1_000)) == ivt.VALID


# ---- CLICK_WITHOUT_IMPRESSION ----


def test_click_on_an_ad_not_validly_seen_is_click_without_impression() -> None:
    """A click whose ad has no valid impression in the trip is CLICK_WITHOUT_IMPRESSION."""
    other_ad_seen = ivt.TripHistory(impressed_ad_ids=frozenset({"ad-2"}))
    assert judge(event(CLICK), other_ad_seen) == ivt.CLICK_WITHOUT_IMPRESSION


def test_the_tokens_ad_is_the_one_looked_up() -> None:
    """The verified token's ad counts, not the ad id the cart wrote on the event."""
    assert judge(event(CLICK, ad_id="ad-2")) == ivt.VALID
    forged_ad_seen = ivt.TripHistory(impressed_ad_ids=frozenset({"ad-2"}))
    assert judge(event(CLICK, ad_id="ad-2"), forged_ad_seen) == ivt.CLICK_WITHOUT_IMPRESSION


def test_without_a_token_the_events_ad_is_looked_up() -> None:
    """Without a verified payload (judged elsewhere), the event's own ad id is the one looked up."""
    assert ivt.judge_stateful(event(CLICK), None, SEEN, QUIET, POLICY) == ivt.VALID
    assert ivt.judge_stateful(event(CLICK, ad_id="ad-2"), None, SEEN, QUIET, POLICY) == ivt.CLICK_WITHOUT_IMPRESSION


def test_incomplete_trip_does_not_need_the_impression() -> None:
    """When earlier events may be missing (the edge restarted), a click is not blamed for an unseen impression."""
    assert judge(event(CLICK), ivt.TripHistory(complete=False)) == ivt.VALID


# ---- CLICK_CAP ----


def test_clicks_per_trip_edge() -> None:
    """The 10th click of a trip is valid, the 11th CLICK_CAP."""
    ninth = ivt.TripHistory(impressed_ad_ids=frozenset({AD}), clicks=POLICY.max_clicks_per_session - 1)
    tenth = ivt.TripHistory(impressed_ad_ids=frozenset({AD}), clicks=POLICY.max_clicks_per_session)
    assert judge(event(CLICK), ninth) == ivt.VALID
    assert judge(event(CLICK), tenth) == ivt.CLICK_CAP


def test_clicks_per_ad_edge() -> None:
    """The 3rd click on one ad is valid, the 4th CLICK_CAP."""
    two = ivt.TripHistory(impressed_ad_ids=frozenset({AD}), clicks=2, clicks_by_ad={AD: 2})
    three = ivt.TripHistory(impressed_ad_ids=frozenset({AD}), clicks=3, clicks_by_ad={AD: 3})
    assert judge(event(CLICK), two) == ivt.VALID
    assert judge(event(CLICK), three) == ivt.CLICK_CAP


def test_caps_hold_on_an_incomplete_trip() -> None:
    """What is known still counts: an incomplete trip at its click cap refuses the next click."""
    assert judge(event(CLICK), ivt.TripHistory(clicks=10, complete=False)) == ivt.CLICK_CAP


# ---- CLICK_RATE_OUTLIER ----


def test_click_rate_edge() -> None:
    """The cart's 8th click in the window on 16 impressions (0.5) is valid; on 15 it is CLICK_RATE_OUTLIER."""
    clicks_before = POLICY.outlier_min_clicks - 1
    assert judge(event(CLICK), window=ivt.CartWindow(impressions=16, clicks=clicks_before)) == ivt.VALID
    assert judge(event(CLICK), window=ivt.CartWindow(impressions=15, clicks=clicks_before)) == ivt.CLICK_RATE_OUTLIER


def test_too_few_clicks_are_never_an_outlier() -> None:
    """A 7th click is valid even on a single impression: too few clicks to call a rate."""
    assert judge(event(CLICK), window=ivt.CartWindow(impressions=1, clicks=POLICY.outlier_min_clicks - 2)) == ivt.VALID


# ---- CONVERSION ----


def test_conversion_after_a_valid_impression_is_valid() -> None:
    """A view-through conversion of a validly seen ad breaks no rule."""
    assert judge(event(CONVERSION, attribution=common_pb2.ATTRIBUTION_KIND_VIEW_THROUGH)) == ivt.VALID


def test_conversion_without_a_valid_exposure_is_conversion() -> None:
    """A conversion whose ad the trip never validly saw is CONVERSION."""
    assert judge(event(CONVERSION), ivt.TripHistory()) == ivt.CONVERSION


def test_click_through_conversion_needs_a_valid_click() -> None:
    """A conversion attributed to a click is CONVERSION without a valid click on its ad, valid with one."""
    through_click = event(CONVERSION, attribution=common_pb2.ATTRIBUTION_KIND_CLICK_THROUGH)
    assert judge(through_click) == ivt.CONVERSION
    clicked = ivt.TripHistory(impressed_ad_ids=frozenset({AD}), clicks=1, clicks_by_ad={AD: 1})
    assert judge(through_click, clicked) == ivt.VALID


def test_conversion_of_an_invalid_basket_add_is_conversion() -> None:
    """A conversion made from a basket add judged invalid is CONVERSION."""
    add_was_invalid = ivt.TripHistory(impressed_ad_ids=frozenset({AD}), invalid_add_ids=frozenset({"add-9"}))
    assert judge(event(CONVERSION, attributed_event_id="add-8"), add_was_invalid) == ivt.VALID
    assert judge(event(CONVERSION, attributed_event_id="add-9"), add_was_invalid) == ivt.CONVERSION


def test_conversions_per_trip_edge() -> None:
    """The 20th conversion of a trip is valid, the 21st CONVERSION, even on an incomplete trip."""
    limit = POLICY.max_conversions_per_session
    assert (
        judge(event(CONVERSION), ivt.TripHistory(impressed_ad_ids=frozenset({AD}), conversions=limit - 1)) == ivt.VALID
    )
    assert judge(event(CONVERSION), ivt.TripHistory(conversions=limit, complete=False)) == ivt.CONVERSION


def test_incomplete_trip_does_not_need_the_exposure() -> None:
    """When earlier events may be missing, a conversion is not blamed for an unseen exposure."""
    assert judge(event(CONVERSION), ivt.TripHistory(complete=False)) == ivt.VALID


# ---- precedence among the stateful rules ----


def test_missing_impression_comes_before_the_caps() -> None:
    """A click without an impression and past every cap and rate is CLICK_WITHOUT_IMPRESSION."""
    capped = ivt.TripHistory(clicks=50, clicks_by_ad={AD: 50})
    assert judge(event(CLICK), capped, ivt.CartWindow(impressions=0, clicks=50)) == ivt.CLICK_WITHOUT_IMPRESSION


def test_cap_comes_before_the_outlier_rate() -> None:
    """A click past its cap from an outlier cart is CLICK_CAP."""
    capped = ivt.TripHistory(impressed_ad_ids=frozenset({AD}), clicks=50)
    assert judge(event(CLICK), capped, ivt.CartWindow(impressions=1, clicks=50)) == ivt.CLICK_CAP
