"""The availability forecast's pure core, with values: requests per day, the targeting's shares and
each date's eligible requests and impressions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from cartads.time_units import HOUR_US, dt_to_us
from cartads.v1 import common_pb2
from cloud_core.delivery.forecast import ForecastTargeting, TrafficHistory, forecast_days, store_rates

SCAN, IDLE = int(common_pb2.TRIGGER_SCAN), int(common_pb2.TRIGGER_IDLE)
# Monday 2026-12-07 00:00 UTC.
T0 = dt_to_us(datetime(2026, 12, 7, tzinfo=UTC))
CHICAGO = ZoneInfo("America/Chicago")


def _flat_two_days() -> TrafficHistory:
    """100 requests every hour for two whole UTC days, 75 on scan and 25 on idle; 960 impressions."""
    requests = {}
    for h in range(48):
        requests[(T0 + h * HOUR_US, SCAN)] = 75
        requests[(T0 + h * HOUR_US, IDLE)] = 25
    return TrafficHistory("s1", UTC, requests, impressions=960, end_us=T0 + 48 * HOUR_US)


def test_requests_per_day_divide_by_the_days_observed() -> None:
    """Two whole days of 2,400 requests each forecast 2,400 requests a day and 0.2 impressions per request."""
    rates = store_rates(_flat_two_days(), ForecastTargeting(), prior_requests=0)
    assert rates.days_observed == pytest.approx(2.0)
    assert rates.requests_per_day == pytest.approx(2_400)
    assert rates.impressions_per_request == pytest.approx(0.2)


def test_triggers_and_daypart_hours_take_their_share() -> None:
    """Scan only (75%) in 8 of 24 equally busy hours: 2,400 x 0.75 x 1/3 = 600 requests, 120 impressions."""
    wanted = ForecastTargeting(triggers=frozenset({SCAN}), hours=frozenset(range(9, 17)))
    rates = store_rates(_flat_two_days(), wanted, prior_requests=0)
    (day,) = forecast_days(rates, wanted, [date(2026, 12, 9)])
    assert day.eligible_requests == pytest.approx(600)
    assert day.expected_impressions == pytest.approx(120)


def test_a_weekday_left_out_forecasts_nothing() -> None:
    """Targeting Monday only: Tuesday 2026-12-08 forecasts 0, Monday 2026-12-14 the full day."""
    wanted = ForecastTargeting(weekdays=frozenset({1}))
    rates = store_rates(_flat_two_days(), wanted, prior_requests=0)
    tuesday, monday = forecast_days(rates, wanted, [date(2026, 12, 8), date(2026, 12, 14)])
    assert tuesday.eligible_requests == 0
    assert monday.eligible_requests == pytest.approx(2_400)


def test_a_partly_observed_day_counts_by_its_profile_weight() -> None:
    """36 flat hours: a whole day plus hours 0-11, which hold 24 of the profile's 36 counts (2/3 of a
    day), so 3,600 requests over 5/3 days observed forecast 2,160 a day."""
    requests = {(T0 + h * HOUR_US, SCAN): 100 for h in range(36)}
    history = TrafficHistory("s1", UTC, requests, impressions=0, end_us=T0 + 36 * HOUR_US)
    rates = store_rates(history, ForecastTargeting(), prior_requests=0)
    assert rates.days_observed == pytest.approx(5 / 3)
    assert rates.requests_per_day == pytest.approx(2_160)


def test_daypart_hours_are_the_stores_local_hours() -> None:
    """Chicago traffic at 01:00-02:00 UTC is its 19:00 local hour: daypart 19 holds all of it, 1 none."""
    requests = {(T0 + 24 * HOUR_US + HOUR_US, SCAN): 500}
    history = TrafficHistory("s1", CHICAGO, requests, impressions=0, end_us=T0 + 48 * HOUR_US)
    evening = store_rates(history, ForecastTargeting(hours=frozenset({19})), prior_requests=0)
    night = store_rates(history, ForecastTargeting(hours=frozenset({1})), prior_requests=0)
    assert evening.hour_share == pytest.approx(1.0)
    assert night.hour_share == pytest.approx(0.0)


def test_an_hour_still_being_counted_is_left_out() -> None:
    """Counts of the hour that ends after the window (still arriving) do not read as a quiet hour."""
    history = _flat_two_days()
    busy = dict(history.requests)
    busy[(T0 + 48 * HOUR_US, SCAN)] = 3
    rates = store_rates(
        TrafficHistory("s1", UTC, busy, impressions=960, end_us=history.end_us), ForecastTargeting(), prior_requests=0
    )
    assert rates.requests_per_day == pytest.approx(2_400)


def test_no_history_forecasts_zero() -> None:
    """A store whose edge has uploaded no counts forecasts 0 requests and 0 impressions, no division by zero."""
    history = TrafficHistory("s1", UTC, {}, impressions=0, end_us=T0)
    rates = store_rates(history, ForecastTargeting(triggers=frozenset({SCAN})))
    (day,) = forecast_days(rates, ForecastTargeting(), [date(2026, 12, 9)])
    assert (rates.days_observed, day.eligible_requests, day.expected_impressions) == (0.0, 0.0, 0.0)


def test_the_prior_shapes_a_new_stores_hours() -> None:
    """With the grocery prior, a store with a few flat counts weighs 10:00 above 03:00."""
    requests = {(T0 + h * HOUR_US, SCAN): 1 for h in range(24)}
    history = TrafficHistory("s1", UTC, requests, impressions=0, end_us=T0 + 24 * HOUR_US)
    morning = store_rates(history, ForecastTargeting(hours=frozenset({10})))
    night = store_rates(history, ForecastTargeting(hours=frozenset({3})))
    assert morning.hour_share > 5 * night.hour_share
