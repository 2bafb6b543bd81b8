"""The budget pacing controller and its plans (cloud_core/delivery/pacing.py). Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cartads.time_units import dt_to_us
from cartads.v1 import admin_pb2
from cloud_core.delivery.pacing import (
    ControllerState,
    PacingSettings,
    StorePacingInput,
    derived_daily_budget_micros,
    next_rate,
    pacing_key,
    plan_store,
    planned_fraction,
    window_fraction,
)
from cloud_core.delivery.traffic_profile import HOURS
from tests.cloud_core.helpers import campaign, line_item

FLAT = tuple(1 / HOURS for _ in range(HOURS))
SETTINGS = PacingSettings(interval_s=120, increase=0.1, decrease=0.2, tolerance=0.02, min_rate=0.01)
DAY = datetime(2026, 3, 10, tzinfo=UTC)
S = 1_000_000


def paced(lid: str = "li1", *, daily: int = 0, asap: bool = False, campaign_id: str = "c1") -> admin_pb2.LineItem:
    item = line_item(lid, campaign_id=campaign_id)
    item.daily_budget_micros = daily
    item.pacing_type = admin_pb2.PACING_TYPE_ASAP if asap else admin_pb2.PACING_TYPE_EVEN
    return item


def store_input(
    items: list[admin_pb2.LineItem],
    now: datetime,
    *,
    spent: dict[str, int] | None = None,
    states: dict[str, ControllerState] | None = None,
    share: float = 1.0,
) -> StorePacingInput:
    camp = campaign(start=DAY - timedelta(days=5), end=DAY + timedelta(days=5), budget_micros=100_000_000)
    return StorePacingInput(
        now_us=dt_to_us(now),
        tz=UTC,
        profile=FLAT,
        line_items=items,
        campaigns={"c1": camp},
        store_share={"c1": share},
        campaign_spend_micros={},
        campaign_spend_today_micros={},
        line_item_spend_today_micros=spent or {},
        states=states or {},
    )


def test_rate_falls_when_ahead_and_rises_when_behind() -> None:
    """Spending more than allocated multiplies the rate by 1 - decrease, less by 1 + increase."""
    assert next_rate(0.5, 120, 100.0, SETTINGS) == pytest.approx(0.4)
    assert next_rate(0.5, 80, 100.0, SETTINGS) == pytest.approx(0.55)
    assert next_rate(0.5, 101, 100.0, SETTINGS) == 0.5


def test_rate_stays_within_its_bounds() -> None:
    """The rate never leaves [min_rate, max_rate]."""
    assert next_rate(1.0, 0, 100.0, SETTINGS) == 1.0
    assert next_rate(0.011, 500, 100.0, SETTINGS) == 0.01


def test_line_items_without_daily_budget_pace_their_campaign_together() -> None:
    """EVEN line items without a daily budget share the campaign's key; others pace alone."""
    assert pacing_key(paced("a")) == pacing_key(paced("b")) == "campaign:c1"
    assert pacing_key(paced("a", daily=5)) == "a"
    assert pacing_key(paced("a", asap=True)) == "a"


def test_derived_daily_budget_spreads_what_is_left_over_the_flight() -> None:
    """Without a daily budget, today gets the budget left at midnight over the remaining days."""
    camp = campaign(start=DAY - timedelta(days=5), end=DAY + timedelta(days=4), budget_micros=100_000_000)
    daily = derived_daily_budget_micros(
        campaign=camp,
        spend_micros=60_000_000,
        spend_today_micros=10_000_000,
        now_us=dt_to_us(DAY + timedelta(hours=12)),
        profile=FLAT,
        tz=UTC,
    )
    assert daily == pytest.approx(50_000_000 / 4, rel=1e-6)


def test_plan_is_due_along_the_day() -> None:
    """At noon on a flat profile half of today's plan is due."""
    camp = campaign(start=DAY - timedelta(days=1), end=DAY + timedelta(days=3))
    assert planned_fraction(camp, dt_to_us(DAY + timedelta(hours=12)), FLAT, UTC) == pytest.approx(0.5)


def test_even_lease_window_follows_the_profile() -> None:
    """A window's share of the remaining budget is its traffic weight over the rest of the flight, with headroom."""
    start = dt_to_us(DAY + timedelta(hours=10))
    profile = tuple(1.0 if h == 10 else 0.0 for h in range(HOURS))
    fraction = window_fraction(
        window_start_us=start,
        window_end_us=start + 900 * S,
        flight_end_us=dt_to_us(DAY + timedelta(days=2)),
        profile=profile,
        tz=UTC,
        headroom=2.0,
    )
    # The rest of the flight holds today's hour 10 and tomorrow's whole day: 1 + 1 days.
    assert fraction == pytest.approx(2.0 * 0.25 / 2.0)


def test_first_sight_starts_at_the_initial_rate_and_is_persisted() -> None:
    """A key seen for the first time gets the initial rate and a state to persist."""
    plan = plan_store(store_input([paced(daily=24_000_000)], DAY + timedelta(hours=6)), SETTINGS)
    assert plan.rates == {"li1": 1.0}
    assert plan.stepped["li1"].rate == 1.0


def test_rate_steps_only_after_the_interval() -> None:
    """A recompile sooner than interval_s after the last step keeps the rate and writes nothing."""
    now = DAY + timedelta(hours=6)
    state = ControllerState(0.5, dt_to_us(now) - 60 * S, 0, dt_to_us(DAY))
    plan = plan_store(store_input([paced(daily=24_000_000)], now, states={"li1": state}), SETTINGS)
    assert (plan.rates["li1"], plan.stepped) == (0.5, {})


def test_overspent_slot_slows_the_line_item() -> None:
    """Spending more in the last slot than its allocation lowers the rate."""
    now = DAY + timedelta(hours=6)
    last = dt_to_us(now) - 120 * S
    state = ControllerState(0.5, last, 6_000_000, dt_to_us(DAY))
    # Flat day, 24M/day: the 2-minute slot was allocated (24M - 6M) * 2 / (18 * 60) = 33,333.
    plan = plan_store(
        store_input([paced(daily=24_000_000)], now, spent={"li1": 6_100_000}, states={"li1": state}), SETTINGS
    )
    assert plan.rates["li1"] == pytest.approx(0.4)


def test_underspent_slot_speeds_the_line_item_up() -> None:
    """Spending less in the last slot than its allocation raises the rate."""
    now = DAY + timedelta(hours=6)
    state = ControllerState(0.5, dt_to_us(now) - 120 * S, 6_000_000, dt_to_us(DAY))
    plan = plan_store(
        store_input([paced(daily=24_000_000)], now, spent={"li1": 6_010_000}, states={"li1": state}), SETTINGS
    )
    assert plan.rates["li1"] == pytest.approx(0.55)


def test_a_new_day_starts_a_fresh_slot_but_keeps_the_rate() -> None:
    """Yesterday's state: the slot starts at midnight with nothing spent, and the rate carries over."""
    now = DAY + timedelta(minutes=2)
    state = ControllerState(0.3, dt_to_us(now) - 10 * 60 * S, 23_000_000, dt_to_us(DAY - timedelta(days=1)))
    plan = plan_store(store_input([paced(daily=24_000_000)], now, spent={"li1": 0}, states={"li1": state}), SETTINGS)
    assert plan.rates["li1"] == pytest.approx(0.33)
    assert plan.stepped["li1"].day_start_us == dt_to_us(DAY)


def test_asap_is_never_throttled() -> None:
    """ASAP line items always pass and keep no controller state."""
    plan = plan_store(store_input([paced(asap=True, daily=10)], DAY + timedelta(hours=6)), SETTINGS)
    assert (plan.rates["li1"], plan.stepped) == (1.0, {})


def test_line_items_that_spent_their_store_share_are_done_today() -> None:
    """A store's part of the daily budget (budget × share) spent ends the line item's day there."""
    items = [paced("even", daily=10_000_000), paced("asap", daily=10_000_000, asap=True), paced("open", asap=True)]
    spent = {"even": 5_000_000, "asap": 4_000_000, "open": 99_000_000}
    plan = plan_store(store_input(items, DAY + timedelta(hours=20), spent=spent, share=0.5), SETTINGS)
    assert plan.done_today == frozenset({"even"})


def test_dayparted_line_items_plan_only_their_hours() -> None:
    """A line item serving 9-10 only has all of today's plan due by 11, none of it by 9."""
    item = paced(daily=24_000_000)
    item.targeting.daypart_hours.extend([9, 10])
    at_9 = plan_store(store_input([item], DAY + timedelta(hours=9)), SETTINGS).plans[0]
    at_11 = plan_store(store_input([item], DAY + timedelta(hours=11)), SETTINGS).plans[0]
    assert at_9.planned_micros == pytest.approx(0.0)
    assert at_11.planned_micros == pytest.approx(24_000_000)
