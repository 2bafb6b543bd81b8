"""Report maths on known numbers: derived metrics and exposed-vs-holdout lift with its 95% interval."""

from __future__ import annotations

import math
import statistics

import pytest

from cloud_core.reports.metrics import (
    MICROS_PER_CENT,
    Delivery,
    TripSums,
    mean_lift,
    proportion_lift,
    rates,
    sample_variance_micros2,
    trip_cents,
    viewability_rate,
)


def _sums(sales_cents: list[int]) -> TripSums:
    return TripSums(
        trips=len(sales_cents),
        converting_trips=sum(1 for c in sales_cents if c > 0),
        sales_micros=sum(sales_cents) * MICROS_PER_CENT,
        sales_sq_cents2=sum(c * c for c in sales_cents),
    )


def test_rates_of_known_counts() -> None:
    """CTR, conversion rate, eCPM and ROAS of 2,000 impressions, 50 clicks, 10 conversions."""
    r = rates(Delivery(impressions=2000, clicks=50, conversions=10, spend_micros=4_000_000, sales_micros=30_000_000))
    assert r.ctr == pytest.approx(0.025)
    assert r.conversion_rate == pytest.approx(0.005)
    assert r.ecpm_micros == 2_000_000
    assert r.roas == pytest.approx(7.5)


def test_rates_without_denominators_are_zero() -> None:
    """No impressions and no spend give zero rates instead of a division error."""
    r = rates(Delivery(requests=5))
    assert (r.ctr, r.conversion_rate, r.ecpm_micros, r.roas) == (0.0, 0.0, 0, 0.0)


def test_proportion_lift_matches_the_wald_interval() -> None:
    """120/1000 vs 100/1000 converting trips: +2 points, SE 0.013986, interval (-0.0074, 0.0474)."""
    est = proportion_lift(TripSums(1000, 120), TripSums(1000, 100))
    assert est is not None
    assert est.difference == pytest.approx(0.02)
    assert est.standard_error == pytest.approx(math.sqrt(0.12 * 0.88 / 1000 + 0.1 * 0.9 / 1000))
    assert est.ci_low == pytest.approx(-0.007412, abs=1e-6)
    assert est.ci_high == pytest.approx(0.047412, abs=1e-6)
    assert est.relative == pytest.approx(0.2)
    assert not est.significant


def test_large_samples_make_the_same_lift_significant() -> None:
    """The same rates over 100,000 trips per arm give an interval that excludes zero."""
    est = proportion_lift(TripSums(100_000, 12_000), TripSums(100_000, 10_000))
    assert est is not None
    assert est.significant
    standard_error = math.sqrt(0.12 * 0.88 / 100_000 + 0.1 * 0.9 / 100_000)
    assert est.ci_low == pytest.approx(0.02 - 1.959963984540054 * standard_error)
    assert est.ci_low > 0


def test_mean_lift_matches_welch_on_known_sales() -> None:
    """Sales of 1,2,3,4 dollars vs a constant 1 dollar: +1.50 per trip, SE from the sample variance."""
    exposed, holdout = _sums([100, 200, 300, 400]), _sums([100, 100, 100, 100])
    est = mean_lift(exposed, holdout)
    assert est is not None
    assert est.difference == pytest.approx(1_500_000)
    expected_se = math.sqrt(statistics.variance([1e6, 2e6, 3e6, 4e6]) / 4)
    assert est.standard_error == pytest.approx(expected_se)
    assert est.ci_low == pytest.approx(1_500_000 - 1.959963984540054 * expected_se)
    assert est.significant
    assert est.relative == pytest.approx(1.5)


def test_sample_variance_from_sums_equals_the_direct_one() -> None:
    """The variance from count, sum and sum of squares equals statistics.variance of the trips."""
    cents = [0, 0, 250, 999, 1, 40_000, 73]
    assert sample_variance_micros2(_sums(cents)) == pytest.approx(
        statistics.variance([c * MICROS_PER_CENT for c in cents])
    )


def test_lift_needs_trips_on_both_sides() -> None:
    """Without holdout (or exposed) trips there is no estimate."""
    assert proportion_lift(TripSums(10, 1), TripSums()) is None
    assert mean_lift(TripSums(), _sums([100])) is None


def test_trip_cents_rounds_micros_to_cents() -> None:
    """A trip's sales are squared in whole cents: 1.234567 dollars is 123 cents."""
    assert trip_cents(1_234_567) == 123


def test_viewability_rate_is_viewable_impressions_per_play() -> None:
    """Viewability rate = impressions / plays, and 0 without plays."""
    assert viewability_rate(Delivery(impressions=3, plays=4)) == 0.75
    assert viewability_rate(Delivery(impressions=3)) == 0.0
