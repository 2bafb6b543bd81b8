"""What an upload adds to the ledger and its rollups, computed from plain outcomes without a database."""

from __future__ import annotations

from cartads.time_units import HOUR_US
from cartads.v1 import common_pb2
from cloud_core.events.ledger_math import (
    billing_claims,
    event_counts,
    event_rows,
    exhausted_campaigns,
    first_by_event_id,
    ingest_result,
    ledger_deltas,
    rejected_dead_letters,
    unidentified_dead_letters,
)
from cloud_core.events.outcomes import EventOutcome

H0 = 1_780_000_000 * 1_000_000 // HOUR_US * HOUR_US
IMPRESSION = common_pb2.EVENT_TYPE_IMPRESSION
CLICK = common_pb2.EVENT_TYPE_CLICK
CONVERSION = common_pb2.EVENT_TYPE_CONVERSION
CHECKOUT = common_pb2.EVENT_TYPE_CHECKOUT


def outcome(
    event_id: str,
    event_type: int = IMPRESSION,
    *,
    ad_id: str = "ad-1",
    campaign_id: str = "c1",
    line_item_id: str = "li1",
    charge_micros: int = 5_000,
    billable: bool = True,
    reject_reason: str = "",
    receive_time_us: int = H0,
    product_id: str = "",
    trigger: int = 0,
    seq: int = 0,
) -> EventOutcome:
    return EventOutcome(
        seq=seq,
        event_id=event_id,
        event_type=event_type,
        cart_id="cart",
        session_id="sess",
        event_blob=event_id.encode(),
        receive_time_us=receive_time_us,
        ad_id=ad_id,
        advertiser_id="acme",
        campaign_id=campaign_id,
        line_item_id=line_item_id,
        billable=billable,
        charge_micros=charge_micros,
        reject_reason=reject_reason,
        product_id=product_id,
        trigger=trigger,
    )


def test_event_counts_follow_the_event_kind() -> None:
    """An impression, click or conversion counts once in its own column, with its charge as spend."""
    assert event_counts(outcome("a", IMPRESSION, charge_micros=7)) == (1, 0, 0, 7)
    assert event_counts(outcome("b", CLICK, charge_micros=8)) == (0, 1, 0, 8)
    assert event_counts(outcome("c", CONVERSION, charge_micros=9)) == (0, 0, 1, 9)
    assert event_counts(outcome("d", CHECKOUT, charge_micros=0)) == (0, 0, 0, 0)


def test_first_event_of_an_id_wins_and_repeats_are_duplicates() -> None:
    """Of several events with one id the first in upload order is kept; the others count as duplicates."""
    first = outcome("a", charge_micros=1)
    firsts, repeated = first_by_event_id([first, outcome("b"), outcome("a", charge_micros=2), outcome("")])
    assert list(firsts) == ["a", "b"]
    assert firsts["a"] is first
    assert repeated == 1


def test_events_without_an_id_become_dead_letters_keyed_on_seq() -> None:
    """Only events without an id are dead-lettered here, with their own reason or a default one."""
    rows = unidentified_dead_letters(
        "s1", "e1", [outcome("", seq=4), outcome("", seq=5, reject_reason="bad"), outcome("x", seq=6)], H0
    )
    assert [(r["seq"], r["event_id"], r["reason"], r["create_time_us"]) for r in rows] == [
        (4, "", "missing event_id", H0),
        (5, "", "bad", H0),
    ]


def test_event_rows_are_in_id_order_with_their_outcome() -> None:
    """Rows come in event id order; billed events carry their charge, others none."""
    firsts = {
        "c": outcome("c", CHECKOUT, billable=False, charge_micros=0),
        "a": outcome("a", charge_micros=10),
        "b": outcome("b", charge_micros=10, reject_reason="token expired"),
    }
    rows = event_rows("s1", "e1", firsts, H0 + 1)
    assert [(r[1], r[10], r[11], r[14]) for r in rows] == [
        ("a", "billed", 10, H0 + 1),
        ("b", "rejected", 0, H0 + 1),
        ("c", "recorded", 0, H0 + 1),
    ]


def test_only_rejected_new_events_are_dead_lettered() -> None:
    """Dead letters of new events are those with a reject reason, keeping it."""
    rows = rejected_dead_letters("s1", "e1", [outcome("a"), outcome("b", reject_reason="token expired")], H0)
    assert [(r["event_id"], r["reason"]) for r in rows] == [("b", "token expired")]


def test_billing_claims_are_keyed_on_decision_kind_and_product() -> None:
    """Claims come in key order; conversions claim their decision and product; rejected events claim nothing."""
    claims = billing_claims(
        "s1",
        [
            outcome("e3", CONVERSION, ad_id="ad-1", product_id="p9"),
            outcome("e2", ad_id="ad-2"),
            outcome("e1", ad_id="ad-1"),
            outcome("e4", ad_id="ad-0", reject_reason="token expired"),
            outcome("e5", CHECKOUT, ad_id="ad-0", billable=False),
        ],
    )
    assert list(claims.rows) == [
        ("ad-1", IMPRESSION, "s1", "e1"),
        ("ad-1/p9", CONVERSION, "s1", "e3"),
        ("ad-2", IMPRESSION, "s1", "e2"),
    ]
    assert [o.event_id for o in claims.candidates] == ["e1", "e3", "e2"]


def test_claims_of_one_decision_keep_upload_order() -> None:
    """Two events claiming one decision and kind stay in upload order, so the first uploaded wins."""
    claims = billing_claims("s1", [outcome("z-first", ad_id="ad-1"), outcome("a-second", ad_id="ad-1")])
    assert [o.event_id for o in claims.candidates] == ["z-first", "a-second"]


def test_spend_and_hourly_rollups_sum_billed_events_per_key() -> None:
    """Billed events add up per line item for spend and per line item and hour for the hourly rollup."""
    billed = [
        outcome("a", charge_micros=10),
        outcome("b", CLICK, charge_micros=20),
        outcome("c", charge_micros=30, receive_time_us=H0 + HOUR_US + 5),
        outcome("d", charge_micros=40, line_item_id="li2"),
    ]
    deltas = ledger_deltas("s1", billed, billed, H0)
    spend = {(r["campaign_id"], r["line_item_id"]): r for r in deltas.spend_rows}
    li1 = spend["c1", "li1"]
    assert (li1["impressions"], li1["clicks"], li1["spend_micros"]) == (2, 1, 60)
    assert spend["c1", "li2"]["spend_micros"] == 40
    hourly = {(r["line_item_id"], r["hour_start_us"]): r["spend_micros"] for r in deltas.hourly_rows}
    assert hourly == {("li1", H0): 30, ("li1", H0 + HOUR_US): 30, ("li2", H0): 40}
    assert [row[1] for row in deltas.ledger_rows] == ["a", "b", "c", "d"]


def test_added_spend_is_per_campaign_over_its_line_items() -> None:
    """The spend an upload adds is summed per campaign across its line items."""
    billed = [
        outcome("a", charge_micros=10, line_item_id="li1"),
        outcome("b", charge_micros=15, line_item_id="li2"),
        outcome("c", charge_micros=7, campaign_id="c2"),
    ]
    assert ledger_deltas("s1", billed, billed, H0).added_spend == {"c1": 25, "c2": 7}


def test_traffic_counts_every_new_event_in_its_hour() -> None:
    """Store traffic counts new events (billed or not) per hour; without a receive time, the ingest hour."""
    new = [outcome("a"), outcome("b", CHECKOUT, billable=False), outcome("c", receive_time_us=0)]
    deltas = ledger_deltas("s1", new, [], H0 + 2 * HOUR_US + 9)
    assert {r["hour_start_us"]: r["events"] for r in deltas.traffic_rows} == {H0: 2, H0 + 2 * HOUR_US: 1}
    assert deltas.spend_rows == []
    assert deltas.added_spend == {}


def test_trigger_rollups_count_outcomes_per_line_item_and_trigger() -> None:
    """Billed impressions, clicks and conversions add to their line item's trigger and hour."""
    billed = [outcome("a", trigger=2), outcome("b", CLICK, trigger=2), outcome("c", trigger=3)]
    rows = ledger_deltas("s1", billed, billed, H0).trigger_rows
    assert {(r["trigger"], r["impressions"], r["clicks"], r["conversions"]) for r in rows} == {
        (2, 1, 1, 0),
        (3, 1, 0, 0),
    }


def test_a_campaign_crossing_its_budget_is_exhausted() -> None:
    """A campaign is exhausted by the upload that takes its spend from below its budget to it or above."""
    added = {"crossed": 30, "still_under": 10, "was_over": 5, "exactly": 10}
    after = {"crossed": 110, "still_under": 50, "was_over": 205, "exactly": 100}
    budgets = {"crossed": 100, "still_under": 100, "was_over": 100, "exactly": 100}
    assert exhausted_campaigns(added, after, budgets) == frozenset({"crossed", "exactly"})


def test_a_deleted_campaign_is_never_exhausted() -> None:
    """A campaign without a budget row (deleted) is not reported however much it spent."""
    assert exhausted_campaigns({"gone": 500}, {"gone": 500}, {}) == frozenset()


def test_upload_counts_split_events_into_billed_recorded_rejected_and_duplicate() -> None:
    """Each event of an upload counts once: billed, recorded only, rejected, or a duplicate."""
    new = [outcome("a"), outcome("b", CHECKOUT, billable=False), outcome("c", reject_reason="token expired")]
    result = ingest_result(
        unidentified=3, unidentified_new=2, repeated=4, firsts=5, new=new, billed=1, exhausted=frozenset({"c1"})
    )
    assert (result.billed_count, result.recorded_count, result.rejected_count, result.duplicate_count) == (1, 1, 3, 7)
    assert result.exhausted_campaign_ids == frozenset({"c1"})
