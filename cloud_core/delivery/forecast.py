"""The availability forecast: how many GetAds requests a draft line item's targeting would be eligible
for, per day per store, and how many viewable impressions they carry. Pure.

The model, per store, from its learned traffic (the request counts its edge uploads, by UTC hour and
trigger, over the learning window) in the store's local time:

- requests per day = requests counted / days of traffic the counts cover, where a partly observed
  day counts by the hourly profile's weight of the hours seen (``traffic_profile.weight_between``),
  so two busy afternoons are not mistaken for two whole days;
- the hour share = the hourly profile's weight (the store's own curve smoothed toward a typical
  grocery day) of the targeted daypart hours, 1 with none;
- the trigger share = the targeted triggers' part of the requests counted, 1 with none (assumed the
  same at every hour);
- a date whose ISO weekday the targeting leaves out forecasts 0; others are alike (no weekly season);
- eligible requests of a date = requests per day x hour share x trigger share;
- expected impressions = eligible requests x the store's viewable impressions per request over the
  same window: the inventory the line item competes for, not what it will win.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo

from cartads.time_units import HOUR_US
from cloud_core.delivery.traffic_profile import hourly_profile, requests_by_local_hour, weight_between


@dataclass(frozen=True)
class TrafficHistory:
    """One store's learned traffic over the learning window, which ends at ``end_us``."""

    store_id: str
    tz: tzinfo
    # (UTC hour start µs, trigger) -> GetAds requests, for complete hours before ``end_us``.
    requests: Mapping[tuple[int, int], int]
    # Viewable impressions served in the store over the same hours.
    impressions: int
    end_us: int


@dataclass(frozen=True)
class ForecastTargeting:
    """What of a line item's targeting the request counts can see; empty sets mean "every"."""

    triggers: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()


@dataclass(frozen=True)
class StoreRates:
    """A store's learned rates: the forecast of every date is built from these."""

    store_id: str
    requests_per_day: float
    impressions_per_request: float
    days_observed: float
    hour_share: float
    trigger_share: float


@dataclass(frozen=True)
class DayForecast:
    store_id: str
    date: date
    eligible_requests: float
    expected_impressions: float


def store_rates(history: TrafficHistory, targeting: ForecastTargeting, prior_requests: float = 2_000.0) -> StoreRates:
    """The store's requests per day, impressions per request and the targeting's shares of its traffic."""
    by_hour: dict[int, int] = {}
    by_trigger: dict[int, int] = {}
    for (hour_us, trigger), n in history.requests.items():
        if hour_us + HOUR_US > history.end_us or n <= 0:
            continue  # an hour still being counted would read as a quiet one
        by_hour[hour_us] = by_hour.get(hour_us, 0) + n
        by_trigger[trigger] = by_trigger.get(trigger, 0) + n
    total = sum(by_hour.values())
    profile = hourly_profile(requests_by_local_hour(by_hour, history.tz), prior_requests=prior_requests)
    days = weight_between(min(by_hour), history.end_us, profile, history.tz) if by_hour else 0.0
    hour_share = sum(profile[h] for h in targeting.hours) if targeting.hours else 1.0
    trigger_share = 1.0
    if targeting.triggers and total:
        trigger_share = sum(by_trigger.get(t, 0) for t in targeting.triggers) / total
    return StoreRates(
        store_id=history.store_id,
        requests_per_day=total / days if days > 0 else 0.0,
        impressions_per_request=history.impressions / total if total else 0.0,
        days_observed=days,
        hour_share=hour_share,
        trigger_share=trigger_share,
    )


def forecast_days(rates: StoreRates, targeting: ForecastTargeting, dates: Sequence[date]) -> list[DayForecast]:
    """Each date's eligible requests and expected impressions at the store (its local dates)."""
    out = []
    for day in dates:
        eligible = 0.0
        if not targeting.weekdays or day.isoweekday() in targeting.weekdays:
            eligible = rates.requests_per_day * rates.hour_share * rates.trigger_share
        out.append(DayForecast(rates.store_id, day, eligible, eligible * rates.impressions_per_request))
    return out
