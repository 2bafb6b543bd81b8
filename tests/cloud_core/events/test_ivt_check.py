"""The cloud's second verdict: judged against the ledger's history and the upload in order."""

from __future__ import annotations

from cartads import ivt
from cartads.v1 import common_pb2, event_ingest_pb2
from cloud_core.events.ivt_check import IvtContext, PastEvent, WindowBucket, history_needs, rejudge
from cloud_core.events.outcomes import EventOutcome

NOW_US = 1_800_000_000_000_000
IMPRESSION = common_pb2.EVENT_TYPE_IMPRESSION
CLICK = common_pb2.EVENT_TYPE_CLICK


def pair(event_id: str, kind: int, *, edge_rule: int = 0) -> tuple[event_ingest_pb2.JournaledEvent, EventOutcome]:
    event = common_pb2.CartEvent(
        event_id=event_id,
        type=kind,  # type: ignore[arg-type]
        cart_id="cart-1",
        session_id="s-1",
        ad_id="ad-1",
        tracking_token="signed",
        visible_duration_ms=1_200 if kind == IMPRESSION else 0,
    )
    journaled = event_ingest_pb2.JournaledEvent(seq=1, event=event, invalid_rule=edge_rule)  # type: ignore[arg-type]
    outcome = EventOutcome(
        seq=1,
        event_id=event_id,
        event_type=kind,
        cart_id="cart-1",
        session_id="s-1",
        event_blob=b"",
        receive_time_us=NOW_US,
        ad_id="ad-1",
        campaign_id="c1",
        billable=True,
        charge_micros=5_000,
        token_issue_ms=NOW_US // 1000 - 2_000,
    )
    return journaled, outcome


def run(
    *pairs: tuple[event_ingest_pb2.JournaledEvent, EventOutcome], history: tuple[PastEvent, ...] = ()
) -> list[EventOutcome]:
    return rejudge(
        "s1",
        [j for j, _ in pairs],
        [o for _, o in pairs],
        IvtContext(history),
        policy=ivt.DEFAULT_POLICY,
        token_ttl_s=7_200,
        now_us=NOW_US,
    )


def test_a_click_whose_impression_is_in_the_ledger_is_valid_and_billed() -> None:
    """The trip's impression recorded by an earlier upload vouches for the click."""
    earlier = PastEvent("i", IMPRESSION, "cart-1", "s-1", "ad-1", NOW_US - 1_000_000, 0)
    (click,) = run(pair("c", CLICK), history=(earlier,))
    assert (click.invalid_rule, click.billable, click.charge_micros) == (0, True, 5_000)


def test_a_click_whose_impression_was_invalid_is_invalid_and_unbilled() -> None:
    """An invalid impression in the ledger does not vouch: the click is unbilled and marked a disagreement."""
    earlier = PastEvent("i", IMPRESSION, "cart-1", "s-1", "ad-1", NOW_US - 1_000_000, ivt.VISIBLE_DURATION)
    (click,) = run(pair("c", CLICK), history=(earlier,))
    assert (click.invalid_rule, click.billable, click.charge_micros, click.ivt_disagrees) == (
        ivt.CLICK_WITHOUT_IMPRESSION,
        False,
        0,
        True,
    )


def test_an_edge_that_already_called_it_invalid_does_not_disagree() -> None:
    """Edge and cloud agreeing on invalid is no disagreement."""
    (click,) = run(pair("c", CLICK, edge_rule=ivt.CLICK_WITHOUT_IMPRESSION))
    assert (click.invalid_rule, click.ivt_disagrees) == (ivt.CLICK_WITHOUT_IMPRESSION, False)


def test_a_click_past_the_carts_click_rate_in_the_ledger_is_an_outlier() -> None:
    """Seven clicks and two impressions of the cart in the ledger's last hour make the eighth click an outlier."""
    earlier = PastEvent("", IMPRESSION, "cart-1", "s-1", "ad-1", 0, 0)
    minute = WindowBucket("cart-1", NOW_US - 10 * 60_000_000, impressions=2, clicks=7)
    journaled, outcome = pair("c", CLICK)
    (click,) = rejudge(
        "s1",
        [journaled],
        [outcome],
        IvtContext((earlier,), (minute,)),
        policy=ivt.DEFAULT_POLICY,
        token_ttl_s=7_200,
        now_us=NOW_US,
    )
    assert click.invalid_rule == ivt.CLICK_RATE_OUTLIER


def test_an_upload_without_clicks_or_conversions_reads_no_history() -> None:
    """Impressions alone are judged without the ledger's trips: none of their rules needs them."""
    journaled, outcome = pair("i", IMPRESSION)
    needs = history_needs([journaled], [outcome], ivt.DEFAULT_POLICY, NOW_US)
    assert (needs.cart_ids, needs.trips, needs.window_cart_ids, needs.add_ids) == (("cart-1",), (), (), ())


def test_the_upload_is_judged_in_order() -> None:
    """An impression earlier in the same upload vouches for the click after it."""
    impression, click = run(pair("i", IMPRESSION), pair("c", CLICK))
    assert (impression.invalid_rule, click.invalid_rule) == (0, 0)


def test_an_event_under_a_credential_revoked_before_its_receipt_is_unenrolled() -> None:
    """A credential revoked before the edge received the event makes it UNENROLLED_CART."""
    journaled, outcome = pair("i", IMPRESSION)
    journaled.cart_credential_id = "cred-1"
    context = IvtContext(credentials={"cred-1": ("cart-1", NOW_US - 10**9, NOW_US - 1)})
    (judged,) = rejudge(
        "s1", [journaled], [outcome], context, policy=ivt.DEFAULT_POLICY, token_ttl_s=7_200, now_us=NOW_US
    )
    assert judged.invalid_rule == ivt.UNENROLLED_CART


def test_an_event_under_another_carts_credential_is_unenrolled() -> None:
    """A credential of another cart vouches for nothing."""
    journaled, outcome = pair("i", IMPRESSION)
    journaled.cart_credential_id = "cred-2"
    context = IvtContext(credentials={"cred-2": ("cart-2", NOW_US - 10**9, 0)})
    (judged,) = rejudge(
        "s1", [journaled], [outcome], context, policy=ivt.DEFAULT_POLICY, token_ttl_s=7_200, now_us=NOW_US
    )
    assert judged.invalid_rule == ivt.UNENROLLED_CART
