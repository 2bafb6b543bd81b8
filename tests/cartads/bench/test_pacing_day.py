"""A replayed store day of budget pacing (cartads/bench/pacing_sim.py): EVEN on budget and on curve, ASAP early."""

from __future__ import annotations

import pytest

from cartads.bench.economics import instacart_orders_by_hour, run_pacing_sim
from cartads.bench.pacing_sim import PacingSimConfig, PacingSimResult, simulate_day
from cartads.v1 import admin_pb2


@pytest.fixture(scope="module")
def even_day() -> PacingSimResult:
    """A replayed store day of an EVEN line item (module-wide: the simulation takes seconds)."""
    return simulate_day(PacingSimConfig(hourly_weights=instacart_orders_by_hour(), seed=11))


@pytest.fixture(scope="module")
def asap_day() -> PacingSimResult:
    """The same day with the line item paced ASAP."""
    return simulate_day(
        PacingSimConfig(hourly_weights=instacart_orders_by_hour(), pacing_type=admin_pb2.PACING_TYPE_ASAP, seed=11)
    )


def test_traffic_curve_comes_from_the_instacart_orders() -> None:
    """The replayed day's curve is the shipped sample's orders per hour of day: quiet nights, busy days."""
    orders = instacart_orders_by_hour()
    assert sum(orders) > 3000
    assert max(orders[0:6]) * 10 < max(orders[9:17])


def test_even_line_item_spends_its_daily_budget(even_day: PacingSimResult) -> None:
    """An EVEN line item that could spend three times its budget ends the day within ±5% of it."""
    assert even_day.daily_spend_error <= 0.05


def test_even_spend_follows_the_traffic_curve(even_day: PacingSimResult) -> None:
    """Hourly EVEN spend correlates with hourly requests (r ≥ 0.9), no hour's share off by more than 3 points."""
    assert even_day.traffic_correlation >= 0.9
    assert even_day.max_hour_share_error <= 0.03


def test_asap_spends_out_early(asap_day: PacingSimResult, even_day: PacingSimResult) -> None:
    """An ASAP line item with the same budget spends it by midday and serves nothing after."""
    assert asap_day.spent_out_hour is not None
    assert asap_day.spent_out_hour <= 13
    assert sum(asap_day.hourly_spend_micros[asap_day.spent_out_hour + 1 :]) == 0
    assert even_day.spent_out_hour is not None
    assert even_day.spent_out_hour >= 22


def test_bench_summary_has_the_issue_fields() -> None:
    """run_pacing_sim reports the daily spend error (a fraction) and ASAP's spent-out hour."""
    out = run_pacing_sim(requests_per_day=8_000, daily_budget_micros=5_000_000, seed=3)
    error = abs(out["even_daily_spend_micros"] - 5_000_000) / 5_000_000
    assert out["even_daily_spend_error"] == pytest.approx(error, abs=1e-5)
    assert out["even_daily_spend_error"] <= 0.05
    hourly = out["asap_hourly_spend_micros"]
    assert out["asap_spent_out_hour"] == max(hour for hour, spend in enumerate(hourly) if spend)
    assert out["asap_spent_out_hour"] <= 13
