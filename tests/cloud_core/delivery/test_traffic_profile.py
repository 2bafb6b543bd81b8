"""Hourly traffic profiles and the weight of spans of local time. Pure."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from cloud_core.delivery.traffic_profile import (
    GROCERY_PRIOR,
    HOURS,
    hourly_profile,
    local_day,
    requests_by_local_hour,
    weight_between,
)

CHICAGO = ZoneInfo("America/Chicago")
HOUR_US = 3600 * 1_000_000
FLAT = tuple(1 / HOURS for _ in range(HOURS))


def us(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return round(datetime(year, month, day, hour, minute, tzinfo=CHICAGO).timestamp() * 1_000_000)


def test_without_counts_the_profile_is_the_prior() -> None:
    """A store with no request counts is paced along the typical grocery day."""
    assert hourly_profile({}) == pytest.approx(GROCERY_PRIOR)


def test_counts_outweigh_the_prior() -> None:
    """With many requests the store's own curve dominates: all traffic at 10:00 gives hour 10 nearly all."""
    profile = hourly_profile({10: 1_000_000}, prior_requests=2_000)
    assert profile[10] > 0.99
    assert sum(profile) == pytest.approx(1.0)


def test_a_whole_local_day_weighs_one() -> None:
    """Midnight to midnight in the store's zone weighs exactly one day."""
    assert weight_between(us(2026, 3, 10), us(2026, 3, 11), GROCERY_PRIOR, CHICAGO) == pytest.approx(1.0)


def test_part_of_a_day_weighs_its_hours() -> None:
    """09:00-10:30 weighs hour 9 plus half of hour 10."""
    w = weight_between(us(2026, 3, 10, 9), us(2026, 3, 10, 10, 30), GROCERY_PRIOR, CHICAGO)
    assert w == pytest.approx(GROCERY_PRIOR[9] + GROCERY_PRIOR[10] / 2)


def test_spans_over_several_days_count_whole_days() -> None:
    """Noon to noon three days later: half-days at the ends by the profile, two whole days between."""
    w = weight_between(us(2026, 3, 10, 12), us(2026, 3, 13, 12), FLAT, CHICAGO)
    assert w == pytest.approx(3.0)


def test_local_day_follows_the_zone() -> None:
    """A day starts at local midnight, not UTC midnight."""
    start, end = local_day(us(2026, 3, 10, 23, 30), CHICAGO)
    assert (start, end) == (us(2026, 3, 10), us(2026, 3, 11))


def test_utc_hours_fold_into_local_hours() -> None:
    """Counts keyed by UTC hour start land on the store's local hour."""
    assert requests_by_local_hour({us(2026, 3, 10, 9): 5, us(2026, 3, 11, 9): 2}, CHICAGO) == {9: 7}
