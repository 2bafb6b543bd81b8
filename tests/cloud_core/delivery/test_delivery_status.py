"""Delivery status from plain numbers: the state, the reasons in plain words, the summary."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cloud_core.delivery.status import (
    AHEAD,
    ALLOWANCE_USED_UP,
    BEHIND,
    DAILY_PLAN_SPENT,
    DELIVERING,
    NO_FILL,
    NOT_DELIVERING,
    NOT_SERVING,
    ON_PLAN,
    THROTTLED,
    StoreFacts,
    delivery_status,
    dollars,
)

CHICAGO = ZoneInfo("America/Chicago")
# 2026-12-07 13:50 in Chicago.
NOW_US = int(datetime(2026, 12, 7, 13, 50, tzinfo=CHICAGO).timestamp() * 1_000_000)
LEASE_END_US = int(datetime(2026, 12, 7, 14, 15, tzinfo=CHICAGO).timestamp() * 1_000_000)


def serving(store_id: str = "store-1", **fields: object) -> StoreFacts:
    base: dict[str, object] = {
        "store_id": store_id,
        "tz": CHICAGO,
        "in_index": True,
        "plan_today_micros": 4_000_000,
        "planned_by_now_micros": 2_000_000,
        "spend_today_micros": 2_000_000,
        "lease_allowance_micros": 500_000,
        "lease_expire_us": LEASE_END_US,
        "lease_spent_micros": 100_000,
    }
    base.update(fields)
    return StoreFacts(**base)  # type: ignore[arg-type]


def test_a_used_up_allowance_says_where_and_until_when_in_store_time() -> None:
    """Spend at the lease's allowance reads "budget allowance used up at store-1 until 14:15" (store time)."""
    status = delivery_status([serving(lease_spent_micros=500_000)], NOW_US)
    (reason,) = status.reasons
    assert (reason.code, reason.text) == (ALLOWANCE_USED_UP, "budget allowance used up at store-1 until 14:15")
    assert status.summary.endswith("Leading reason: budget allowance used up at store-1 until 14:15.")


def test_an_expired_lease_is_not_a_reason() -> None:
    """A lease past its expiry holds nothing back: the next index brings a new allowance."""
    status = delivery_status([serving(lease_spent_micros=500_000)], LEASE_END_US + 1)
    assert status.reasons == ()


def test_spend_against_plan_gives_the_state() -> None:
    """Within 20% of what was planned by now is on plan; below is behind, above is ahead."""
    assert delivery_status([serving(spend_today_micros=2_300_000)], NOW_US).state == ON_PLAN
    assert delivery_status([serving(spend_today_micros=1_000_000)], NOW_US).state == BEHIND
    assert delivery_status([serving(spend_today_micros=3_000_000)], NOW_US).state == AHEAD


def test_without_a_plan_or_any_store_serving() -> None:
    """No daily plan: delivering (no daily plan); in no store's index: not delivering."""
    assert delivery_status([serving(plan_today_micros=0, planned_by_now_micros=0)], NOW_US).state == DELIVERING
    assert delivery_status([StoreFacts("store-1")], NOW_US).state == NOT_DELIVERING


def test_reasons_lead_with_the_most_requests_lost() -> None:
    """Throttling that held back 300 requests leads no-fills of 40; each names its store and numbers."""
    facts = serving(
        throttled_last_hour=300,
        pacing_rate=0.35,
        requests_last_hour=120,
        no_fills_last_hour={"FREQUENCY_CAPPED": 25, "NO_CANDIDATES": 15},
    )
    status = delivery_status([facts], NOW_US)
    assert [r.code for r in status.reasons] == [THROTTLED, NO_FILL]
    assert status.reasons[0].text == (
        "pacing held it back from 300 eligible requests at store-1 in the last hour (pass-through rate 35%)"
    )
    assert status.reasons[1].text == (
        "40 of 120 requests at store-1 got no ad in the last hour, most often frequency caps reached (25)"
    )


def test_a_store_out_of_the_index_says_why() -> None:
    """Out of a store's index with today's plan spent: the plan; otherwise: not serving there."""
    spent = StoreFacts("store-2", plan_today_micros=1_000_000, spend_today_micros=1_000_000)
    status = delivery_status([spent, StoreFacts("store-3")], NOW_US)
    assert [(r.code, r.store_id) for r in status.reasons] == [(DAILY_PLAN_SPENT, "store-2"), (NOT_SERVING, "store-3")]
    assert status.reasons[0].text == "today's plan at store-2 spent ($1.00 of $1.00) until local midnight"


def test_totals_and_the_plan_weighted_pacing_rate() -> None:
    """Totals add over stores; the pacing rate is weighted by each store's plan."""
    a = serving("a", plan_today_micros=3_000_000, pacing_rate=1.0)
    b = serving("b", plan_today_micros=1_000_000, pacing_rate=0.2)
    status = delivery_status([a, b], NOW_US)
    assert (status.plan_today_micros, status.spend_today_micros) == (4_000_000, 4_000_000)
    assert status.pacing_rate == (3 * 1.0 + 0.2) / 4
    assert status.summary.startswith("Spent $4.00 today of a $4.00 plan ($4.00 planned by now): on plan.")


def test_amounts_below_a_cent_keep_their_digits() -> None:
    """Sub-cent amounts print to a hundredth of a cent rather than as $0.00."""
    assert (dollars(360), dollars(1_720_000), dollars(0)) == ("$0.0004", "$1.72", "$0.00")
