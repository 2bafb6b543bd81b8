"""The stateless invalid traffic rules, each just inside and just outside its threshold."""

from __future__ import annotations

import pytest

from cartads import ivt
from cartads.v1 import common_pb2
from tests.cartads.ivt_cases import DECISION_MS, HONEST, TTL_MS, event, payload

IMPRESSION = common_pb2.EVENT_TYPE_IMPRESSION
CLICK = common_pb2.EVENT_TYPE_CLICK
CONVERSION = common_pb2.EVENT_TYPE_CONVERSION
DISMISS = common_pb2.EVENT_TYPE_DISMISS
BASKET_ADD = common_pb2.EVENT_TYPE_BASKET_ADD
POLICY = ivt.DEFAULT_POLICY


@pytest.mark.parametrize(
    "event_type", [IMPRESSION, CLICK, CONVERSION, DISMISS, BASKET_ADD, common_pb2.EVENT_TYPE_CHECKOUT]
)
def test_honest_events_are_valid(event_type: int) -> None:
    """A shopper's impression, click, conversion, dismiss, basket add and checkout break no rule."""
    assert HONEST.judge(event(event_type)) == ivt.VALID


# ---- TOKEN ----


@pytest.mark.parametrize("event_type", [IMPRESSION, CLICK, CONVERSION])
def test_billable_event_without_token_is_token(event_type: int) -> None:
    """An impression, click or conversion with no token is invalid: TOKEN."""
    assert HONEST.judge(event(event_type, tracking_token="")) == ivt.TOKEN


@pytest.mark.parametrize("event_type", [IMPRESSION, CLICK, CONVERSION])
def test_token_that_does_not_verify_is_token(event_type: int) -> None:
    """A token whose signature does not match makes the billable event TOKEN."""
    assert HONEST.but(token=ivt.TokenCheck.INVALID).judge(event(event_type)) == ivt.TOKEN


@pytest.mark.parametrize("event_type", [DISMISS, BASKET_ADD])
def test_events_billed_on_nothing_are_not_judged_by_their_token(event_type: int) -> None:
    """A dismiss or basket event with a bad token is still valid: nothing is billed on it."""
    assert HONEST.but(token=ivt.TokenCheck.INVALID).judge(event(event_type, tracking_token="junk")) == ivt.VALID


def test_token_of_a_key_not_held_here_is_left_to_the_cloud() -> None:
    """An edge that cannot verify a token (another box's key) does not call the event invalid."""
    too_fast_if_trusted = HONEST.but(token=ivt.TokenCheck.UNVERIFIABLE, receive_ms=DECISION_MS + 10)
    assert too_fast_if_trusted.judge(event(CLICK, occur_ms=DECISION_MS)) == ivt.VALID


@pytest.mark.parametrize(
    "claim",
    [{"store_id": "s2"}, {"cart_id": "cart-2"}, {"session_id": "trip-2"}, {"ad_id": "ad-2"}, {"ad_id": ""}],
    ids=["another store", "another cart", "another session", "another ad", "no ad"],
)
def test_token_issued_for_something_else_is_token(claim: dict[str, str]) -> None:
    """A verified token of another store, cart, session or ad (or of none) does not vouch for the event."""
    assert HONEST.but(payload=payload(**claim)).judge(event(CLICK)) == ivt.TOKEN


def test_event_without_ad_id_takes_its_tokens() -> None:
    """An ad event that names no ad is judged by its token's ad."""
    assert HONEST.judge(event(CLICK, ad_id="")) == ivt.VALID


def test_token_without_issue_time_is_token() -> None:
    """A token with no decision time cannot be aged: TOKEN, even where no time to live is set."""
    undated = HONEST.but(payload=payload(issue_time_unix_ms=0), token_ttl_ms=0)
    assert undated.judge(event(CLICK, occur_ms=None)) == ivt.TOKEN


def test_token_expiry_edge() -> None:
    """Received exactly its time to live after the decision is valid; a millisecond later is TOKEN."""
    at_expiry = HONEST.but(receive_ms=DECISION_MS + TTL_MS)
    assert at_expiry.judge(event(CLICK, occur_ms=DECISION_MS + TTL_MS)) == ivt.VALID
    late = HONEST.but(receive_ms=DECISION_MS + TTL_MS + 1)
    assert late.judge(event(CLICK, occur_ms=DECISION_MS + TTL_MS)) == ivt.TOKEN


# ---- NON_PRODUCTION_CART and UNENROLLED_CART ----


@pytest.mark.parametrize("traffic_class", [common_pb2.CART_TRAFFIC_CLASS_TEST, common_pb2.CART_TRAFFIC_CLASS_STAFF])
@pytest.mark.parametrize("event_type", [IMPRESSION, BASKET_ADD])
def test_test_and_staff_carts_are_non_production(traffic_class: int, event_type: int) -> None:
    """Every event of a test or staff cart, ad event or not, is NON_PRODUCTION_CART."""
    assert HONEST.but(traffic_class=traffic_class).judge(event(event_type)) == ivt.NON_PRODUCTION_CART


def test_unspecified_traffic_class_is_production() -> None:
    """A cart enrolled without a class is a production cart."""
    assert HONEST.but(traffic_class=common_pb2.CART_TRAFFIC_CLASS_UNSPECIFIED).judge(event(CLICK)) == ivt.VALID


@pytest.mark.parametrize("event_type", [CLICK, BASKET_ADD])
def test_credential_not_enrolled_at_receipt_is_unenrolled(event_type: int) -> None:
    """An event whose credential the cloud finds unknown or revoked at its receipt is UNENROLLED_CART."""
    assert HONEST.but(cart_enrolled=False).judge(event(event_type)) == ivt.UNENROLLED_CART


# ---- OUT_OF_BOUNDS ----


def test_quantity_edge() -> None:
    """A basket add of 99 units is valid, of 100 OUT_OF_BOUNDS."""
    assert HONEST.judge(event(BASKET_ADD, quantity=POLICY.max_quantity, unit_price_micros=1)) == ivt.VALID
    assert HONEST.judge(event(BASKET_ADD, quantity=POLICY.max_quantity + 1, unit_price_micros=1)) == ivt.OUT_OF_BOUNDS


@pytest.mark.parametrize("event_type", [BASKET_ADD, CONVERSION])
def test_value_edge(event_type: int) -> None:
    """An event worth exactly 10,000 USD (shelf price × quantity) is valid; one micro more is OUT_OF_BOUNDS."""
    assert POLICY.max_event_value_micros == 50 * 200_000_000
    assert HONEST.judge(event(event_type, quantity=50, unit_price_micros=200_000_000)) == ivt.VALID
    assert HONEST.judge(event(event_type, quantity=50, unit_price_micros=200_000_001)) == ivt.OUT_OF_BOUNDS


# ---- EVENT_TIME ----


@pytest.mark.parametrize("sign", [1, -1])
def test_cart_clock_offset_edge(sign: int) -> None:
    """A cart clock 5 minutes off the edge's is valid; a millisecond more, either way, is EVENT_TIME."""
    offset = sign * POLICY.max_clock_offset_ms
    shifted = event(BASKET_ADD, occur_ms=DECISION_MS + 2_000 - offset)  # the cart's clock says so
    assert HONEST.but(clock_offset_ms=offset).judge(shifted) == ivt.VALID
    assert HONEST.but(clock_offset_ms=offset + sign).judge(shifted) == ivt.EVENT_TIME


def test_offset_corrects_the_cart_clock() -> None:
    """An honest cart whose clock runs 2 minutes slow is valid once its offset is applied, not without it."""
    slow = event(CLICK, occur_ms=DECISION_MS + 2_000 - 120_000)
    assert HONEST.but(clock_offset_ms=120_000).judge(slow) == ivt.VALID
    assert HONEST.but(clock_offset_ms=None).judge(slow) == ivt.EVENT_TIME


def test_event_after_its_receipt_edge() -> None:
    """An event 5 s after its receipt (clock noise) is valid; later than that is EVENT_TIME."""
    receive = HONEST.receive_ms
    assert HONEST.judge(event(BASKET_ADD, occur_ms=receive + POLICY.event_time_slack_ms)) == ivt.VALID
    assert HONEST.judge(event(BASKET_ADD, occur_ms=receive + POLICY.event_time_slack_ms + 1)) == ivt.EVENT_TIME


def test_event_before_its_decision_edge() -> None:
    """A click 5 s before its decision (clock noise) is valid; earlier than that is EVENT_TIME."""
    assert HONEST.judge(event(CLICK, occur_ms=DECISION_MS - POLICY.event_time_slack_ms)) == ivt.VALID
    assert HONEST.judge(event(CLICK, occur_ms=DECISION_MS - POLICY.event_time_slack_ms - 1)) == ivt.EVENT_TIME


def test_event_after_its_token_expiry_edge() -> None:
    """A conversion at its token's expiry is valid; a millisecond after (received in time) is EVENT_TIME."""
    call = HONEST.but(token_ttl_ms=10_000, receive_ms=DECISION_MS + 9_000)
    assert call.judge(event(CONVERSION, occur_ms=DECISION_MS + 10_000)) == ivt.VALID
    assert call.judge(event(CONVERSION, occur_ms=DECISION_MS + 10_001)) == ivt.EVENT_TIME


def test_event_without_occur_time_is_taken_at_receipt() -> None:
    """An event without a time is judged at its receipt: only the clock offset can fail it."""
    assert HONEST.judge(event(CLICK, occur_ms=None)) == ivt.VALID
    assert HONEST.but(clock_offset_ms=-400_000).judge(event(CLICK, occur_ms=None)) == ivt.EVENT_TIME


# ---- TOO_FAST ----


@pytest.mark.parametrize(
    ("event_type", "threshold_ms"),
    [(IMPRESSION, POLICY.min_impression_after_decision_ms), (CLICK, POLICY.min_click_after_decision_ms)],
)
def test_too_fast_edge(event_type: int, threshold_ms: int) -> None:
    """An impression or click received 1 s after its decision is valid; a millisecond sooner is TOO_FAST."""
    shown = event(event_type, occur_ms=DECISION_MS + threshold_ms - 1, visible_duration_ms=1_000)
    assert HONEST.but(receive_ms=DECISION_MS + threshold_ms).judge(shown) == ivt.VALID
    assert HONEST.but(receive_ms=DECISION_MS + threshold_ms - 1).judge(shown) == ivt.TOO_FAST


def test_conversion_is_not_too_fast() -> None:
    """A conversion is made by the edge from a basket add: no minimum time after the decision."""
    assert HONEST.but(receive_ms=DECISION_MS + 5).judge(event(CONVERSION, occur_ms=DECISION_MS)) == ivt.VALID


# ---- VISIBLE_DURATION ----


def test_viewability_threshold_edge() -> None:
    """An impression visible 1 s is valid; 999 ms is VISIBLE_DURATION (and so is a negative duration)."""
    assert HONEST.judge(event(IMPRESSION, visible_duration_ms=POLICY.viewability_min_ms)) == ivt.VALID
    assert HONEST.judge(event(IMPRESSION, visible_duration_ms=POLICY.viewability_min_ms - 1)) == ivt.VISIBLE_DURATION
    assert HONEST.judge(event(IMPRESSION, visible_duration_ms=-5)) == ivt.VISIBLE_DURATION


def test_longest_visible_duration_edge() -> None:
    """An impression visible 4 h (received 4 h after its decision) is valid; a millisecond more is not."""
    call = HONEST.but(token_ttl_ms=24 * 3_600_000, receive_ms=DECISION_MS + POLICY.max_visible_ms)
    near = event(IMPRESSION, occur_ms=DECISION_MS + POLICY.max_visible_ms)
    assert call.judge(_visible(near, POLICY.max_visible_ms)) == ivt.VALID
    assert call.judge(_visible(near, POLICY.max_visible_ms + 1)) == ivt.VISIBLE_DURATION


def test_visible_longer_than_since_decision_edge() -> None:
    """Visible up to the time since the decision plus 2 s is valid; a millisecond more is VISIBLE_DURATION."""
    since_decision = HONEST.receive_ms - DECISION_MS
    limit = since_decision + POLICY.visible_slack_ms
    assert HONEST.judge(event(IMPRESSION, visible_duration_ms=limit)) == ivt.VALID
    assert HONEST.judge(event(IMPRESSION, visible_duration_ms=limit + 1)) == ivt.VISIBLE_DURATION


def test_visible_duration_is_judged_on_impressions_only() -> None:
    """A click carries no visible duration to judge."""
    assert HONEST.judge(event(CLICK, visible_duration_ms=0)) == ivt.VALID


def _visible(judged: common_pb2.CartEvent, ms: int) -> common_pb2.CartEvent:
    copy = common_pb2.CartEvent()
    copy.CopyFrom(judged)
    copy.visible_duration_ms = ms
    return copy


# ---- AD PLAY ----

AD_PLAY = common_pb2.EVENT_TYPE_AD_PLAY


def test_honest_play_drawn_at_once_is_valid() -> None:
    """A play reported as soon as its ad is drawn (no viewable time) breaks no rule."""
    at_once = HONEST.but(receive_ms=DECISION_MS + 20)
    assert at_once.judge(event(AD_PLAY, occur_ms=DECISION_MS + 10)) == ivt.VALID


def test_play_with_a_bad_token_is_token() -> None:
    """A play counts in reports, so one whose token is missing or does not verify is TOKEN."""
    assert HONEST.judge(event(AD_PLAY, tracking_token="")) == ivt.TOKEN
    assert HONEST.but(token=ivt.TokenCheck.INVALID).judge(event(AD_PLAY)) == ivt.TOKEN
