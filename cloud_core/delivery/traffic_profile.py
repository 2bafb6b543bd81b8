"""A store's hourly traffic profile and how much of it a span of time holds. Pure.

The profile is 24 weights summing to 1: the share of a day's GetAds requests that arrive in each
local hour, learned from the request counts the edges upload (edge_node/events/request_counts.py) and
smoothed toward a typical grocery day, so a new store (or one whose edge is older) is paced along
a sensible curve until its own counts outweigh the prior.

Spans are weighed in the store's local time: a whole local day weighs 1, part of an hour weighs
its fraction of the hour's weight. Pacing plans spend along these weights (cloud_core/delivery/pacing.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache

from cartads.time_units import HOUR_US, US_PER_S

HOURS = 24

# Orders per hour of day (0-23) in the Instacart 2017 sample this project ships
# (cartads/sample/data/instacart/orders.csv, order_hour_of_day, 3,220 orders): a typical
# grocery day, quiet at night, busy from 9 to 17. The prior until a store's own counts arrive.
GROCERY_ORDERS_BY_HOUR: tuple[int, ...] = (
    21, 12, 3, 7, 2, 4, 33, 95, 163, 239, 277, 242, 271, 291, 266, 250, 254, 220, 170, 135, 102, 63, 54, 46,
)  # fmt: skip


def normalized(weights: Sequence[float]) -> tuple[float, ...]:
    """``weights`` scaled to sum to 1 (flat when they sum to nothing)."""
    if len(weights) != HOURS:
        raise ValueError(f"a profile has {HOURS} hourly weights, got {len(weights)}")
    total = float(sum(weights))
    if total <= 0:
        return tuple(1.0 / HOURS for _ in range(HOURS))
    return tuple(max(0.0, w) / total for w in weights)


GROCERY_PRIOR: tuple[float, ...] = normalized(GROCERY_ORDERS_BY_HOUR)


def hourly_profile(
    requests_by_local_hour: Mapping[int, int],
    prior: Sequence[float] = GROCERY_PRIOR,
    prior_requests: float = 2_000.0,
) -> tuple[float, ...]:
    """The store's profile: its requests per local hour, plus ``prior_requests`` spread as the prior.

    With few requests the prior dominates; after a few days of real traffic the store's own curve does.
    """
    prior = normalized(prior)
    counts = [max(0, requests_by_local_hour.get(h, 0)) for h in range(HOURS)]
    return normalized([counts[h] + prior_requests * prior[h] for h in range(HOURS)])


def local_hour(time_us: int, tz: tzinfo) -> int:
    """The local hour of the day (0-23) at ``time_us``."""
    return datetime.fromtimestamp(time_us / US_PER_S, tz).hour


# Pacing asks for the day of the same few moments (now, flight starts and ends) per campaign.
@lru_cache(maxsize=8_192)
def local_day(time_us: int, tz: tzinfo) -> tuple[int, int]:
    """(start, end) in microseconds of the local day holding ``time_us``."""
    local = datetime.fromtimestamp(time_us / US_PER_S, tz)
    start = datetime(local.year, local.month, local.day, tzinfo=tz)
    end = datetime.combine(start.date() + timedelta(days=1), start.timetz())
    return _us(start), _us(end)


def _us(dt: datetime) -> int:
    return round(dt.timestamp() * US_PER_S)


def _within_day(start_us: int, end_us: int, profile: Sequence[float], tz: tzinfo) -> float:
    """Weight of [start, end) inside one local day, hour by hour."""
    total = 0.0
    t = start_us
    while t < end_us:
        local = datetime.fromtimestamp(t / US_PER_S, tz)
        into_hour_us = (local.minute * 60 + local.second) * US_PER_S + local.microsecond
        segment_end = min(end_us, t + HOUR_US - into_hour_us)
        total += profile[local.hour] * (segment_end - t) / HOUR_US
        t = segment_end
    return total


def weight_between(start_us: int, end_us: int, profile: Sequence[float], tz: tzinfo) -> float:
    """How many days of traffic [start, end) holds: whole local days count 1, parts by the profile."""
    return _weight_between(start_us, end_us, tuple(profile), tz)


# Pacing asks the same few spans (today, today so far, the rest of a flight) for every campaign of
# every store compiled, and each answer walks the day hour by hour in local time: remember them.
@lru_cache(maxsize=8_192)
def _weight_between(start_us: int, end_us: int, profile: tuple[float, ...], tz: tzinfo) -> float:
    if end_us <= start_us:
        return 0.0
    _, first_end = local_day(start_us, tz)
    if end_us <= first_end:
        return _within_day(start_us, end_us, profile, tz)
    last_start, _ = local_day(end_us, tz)
    whole_days = (
        datetime.fromtimestamp(last_start / US_PER_S, tz).date()
        - datetime.fromtimestamp(first_end / US_PER_S, tz).date()
    ).days
    return (
        _within_day(start_us, first_end, profile, tz)
        + max(0, whole_days)
        + _within_day(last_start, end_us, profile, tz)
    )


def requests_by_local_hour(requests_by_utc_hour: Mapping[int, int], tz: tzinfo) -> dict[int, int]:
    """Hourly request counts keyed by UTC hour start (µs) folded into local hours of the day."""
    out: dict[int, int] = {}
    for hour_start_us, n in requests_by_utc_hour.items():
        h = local_hour(hour_start_us, tz)
        out[h] = out.get(h, 0) + n
    return out
