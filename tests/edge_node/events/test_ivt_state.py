"""The edge's invalid traffic judge: history of valid events only, bounded memory, retries harmless."""

from __future__ import annotations

from cartads import ivt
from cartads.v1 import common_pb2
from cartads.v1.common_pb2 import CartEvent
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from edge_node.events.ivt_state import CallContext, IvtJudge

NOW = 1_800_000_000_000
PRODUCTION = common_pb2.CART_TRAFFIC_CLASS_PRODUCTION
CALL = CallContext("store-1", NOW, None, 7_200_000, ivt.DEFAULT_POLICY)


def payload(ad_id: str = "ad-1", cart_id: str = "cart-1", session_id: str = "s-1") -> TrackingTokenPayload:
    return TrackingTokenPayload(
        ad_id=ad_id, store_id="store-1", cart_id=cart_id, session_id=session_id, issue_time_unix_ms=NOW - 2_000
    )


def ad_event(
    event_id: str, kind: int, ad_id: str = "ad-1", cart_id: str = "cart-1", session_id: str = "s-1"
) -> CartEvent:
    return CartEvent(
        event_id=event_id,
        type=kind,  # type: ignore[arg-type]
        cart_id="cart-1",
        session_id=session_id,
        ad_id=ad_id,
        tracking_token="signed",
        visible_duration_ms=1_200 if kind == common_pb2.EVENT_TYPE_IMPRESSION else 0,
    )


def judge(j: IvtJudge, event: CartEvent, *, traffic_class: int = PRODUCTION) -> int:
    p = payload(event.ad_id, event.cart_id, event.session_id)
    return j.judge(event, p, ivt.TokenCheck.VERIFIED, CALL, traffic_class)


def test_a_click_after_its_valid_impression_is_valid() -> None:
    """The trip's valid impression makes its ad's click valid."""
    j = IvtJudge(100, 8)
    assert judge(j, ad_event("i", common_pb2.EVENT_TYPE_IMPRESSION)) == 0
    assert judge(j, ad_event("c", common_pb2.EVENT_TYPE_CLICK)) == 0


def test_an_invalid_impression_does_not_vouch_for_a_click() -> None:
    """An impression judged invalid (a glance) joins no history: its ad's click has no impression."""
    j = IvtJudge(100, 8)
    glance = ad_event("i", common_pb2.EVENT_TYPE_IMPRESSION)
    glance.visible_duration_ms = 200
    assert judge(j, glance) == ivt.VISIBLE_DURATION
    assert judge(j, ad_event("c", common_pb2.EVENT_TYPE_CLICK)) == ivt.CLICK_WITHOUT_IMPRESSION


def test_a_retried_click_gets_its_first_verdict_and_counts_once() -> None:
    """A cart resending the same click ids does not use up the ad's click cap."""
    j = IvtJudge(100, 8)
    judge(j, ad_event("i", common_pb2.EVENT_TYPE_IMPRESSION))
    for _ in range(5):
        assert judge(j, ad_event("c-1", common_pb2.EVENT_TYPE_CLICK)) == 0
    assert [judge(j, ad_event(f"c-{n}", common_pb2.EVENT_TYPE_CLICK)) for n in (2, 3, 4)] == [0, 0, ivt.CLICK_CAP]


def test_a_test_cart_is_invalid_whatever_it_reports() -> None:
    """Every event of a cart enrolled as test traffic is NON_PRODUCTION_CART."""
    j = IvtJudge(100, 8)
    verdict = judge(
        j, ad_event("i", common_pb2.EVENT_TYPE_IMPRESSION), traffic_class=common_pb2.CART_TRAFFIC_CLASS_TEST
    )
    assert verdict == ivt.NON_PRODUCTION_CART


def test_memory_is_bounded_and_a_forgotten_trip_is_judged_incomplete() -> None:
    """Past max_trips the oldest trip is forgotten; its later click is not called impression-less."""
    j = IvtJudge(2, 8)
    judge(j, ad_event("i", common_pb2.EVENT_TYPE_IMPRESSION, session_id="s-old"))
    for n in range(3):
        judge(j, ad_event(f"b-{n}", common_pb2.EVENT_TYPE_IMPRESSION, session_id=f"s-{n}"))
    assert len(j) == 2
    assert judge(j, ad_event("c", common_pb2.EVENT_TYPE_CLICK, session_id="s-old")) == 0


def test_a_cart_keeps_at_most_sessions_per_cart_trips() -> None:
    """A cart opening session after session holds at most sessions_per_cart trips in memory."""
    j = IvtJudge(1_000, 3)
    for n in range(50):
        judge(j, ad_event(f"i-{n}", common_pb2.EVENT_TYPE_IMPRESSION, session_id=f"s-{n}"))
    assert len(j) == 3


def test_a_token_issued_before_the_edge_started_leaves_its_trip_to_the_cloud() -> None:
    """After a restart the trip's earlier impression is unknown here: its click is not judged impression-less."""
    j = IvtJudge(100, 8, started_ms=NOW - 1_000)
    assert judge(j, ad_event("c", common_pb2.EVENT_TYPE_CLICK)) == 0
