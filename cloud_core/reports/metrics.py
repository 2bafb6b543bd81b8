"""Report maths: derived delivery metrics and the incremental lift of exposed over holdout trips. Pure.

Lift compares the trips of a layer's non-holdout arms (exposed to ads) with those of its holdout
arm (shown none), on two outcomes per trip: whether it added an advertised product (difference of
proportions) and the value of the advertised products it added (difference of means). Each comes
with a normal-approximation 95% confidence interval, which is sound at the trip counts a store
produces in a day (hundreds and up per arm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Two-sided 95% quantile of the standard normal distribution.
Z_95 = 1.959963984540054
# Per-trip sales are summed in squared cents (see cloud_core/reports/rollups.py): a micro is 1e-4 cent.
MICROS_PER_CENT = 10_000


# Delivery's sales fields, in the rollups' column order (rollups.DELIVERY_SUMS ends with them).
SALES_FIELDS = (
    "ct_sales_units",
    "ct_sales_micros",
    "vt_sales_units",
    "vt_sales_micros",
    "halo_sales_units",
    "halo_sales_micros",
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """Additive delivery counts of one report row."""

    requests: int = 0
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend_micros: int = 0
    sales_micros: int = 0
    # Invalid traffic kept, never billed: ad events by kind, and every invalid event.
    invalid_impressions: int = 0
    invalid_clicks: int = 0
    invalid_conversions: int = 0
    invalid_events: int = 0
    # Delivered past the campaign's budget: what it would have cost, and its events; never charged.
    over_delivery_micros: int = 0
    over_delivered_events: int = 0
    # Ad plays: the ad was put on screen (the first rung of the impression ladder); never billed.
    plays: int = 0
    # Sales at checkout (units, value at shelf price): click-through, view-through, halo.
    ct_sales_units: int = 0
    ct_sales_micros: int = 0
    vt_sales_units: int = 0
    vt_sales_micros: int = 0
    halo_sales_units: int = 0
    halo_sales_micros: int = 0

    def __add__(self, other: Delivery) -> Delivery:
        return Delivery(
            self.requests + other.requests,
            self.impressions + other.impressions,
            self.clicks + other.clicks,
            self.conversions + other.conversions,
            self.spend_micros + other.spend_micros,
            self.sales_micros + other.sales_micros,
            self.invalid_impressions + other.invalid_impressions,
            self.invalid_clicks + other.invalid_clicks,
            self.invalid_conversions + other.invalid_conversions,
            self.invalid_events + other.invalid_events,
            self.over_delivery_micros + other.over_delivery_micros,
            self.over_delivered_events + other.over_delivered_events,
            self.plays + other.plays,
            *(getattr(self, name) + getattr(other, name) for name in SALES_FIELDS),
        )


def invalid_traffic_rate(d: Delivery) -> float:
    """Invalid ad events / (valid + invalid ad events); 0 without ad events."""
    invalid = d.invalid_impressions + d.invalid_clicks + d.invalid_conversions
    return _ratio(invalid, invalid + d.impressions + d.clicks + d.conversions)


def viewability_rate(d: Delivery) -> float:
    """Viewable impressions / plays; 0 without plays. Can pass 1 only when plays were lost (a cart
    too old to report them), so it is reported as measured, not clipped."""
    return _ratio(d.impressions, d.plays)


@dataclass(frozen=True, slots=True)
class Rates:
    """What a row's counts mean: CTR and conversion rate per impression, eCPM, ROAS."""

    ctr: float
    conversion_rate: float
    ecpm_micros: int
    roas: float


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def rates(d: Delivery) -> Rates:
    """Derived metrics of ``d``; each is 0 when its denominator is."""
    return Rates(
        ctr=_ratio(d.clicks, d.impressions),
        conversion_rate=_ratio(d.conversions, d.impressions),
        ecpm_micros=round(_ratio(d.spend_micros * 1000, d.impressions)),
        roas=_ratio(d.sales_micros, d.spend_micros),
    )


@dataclass(frozen=True, slots=True)
class TripSums:
    """The sufficient statistics of one arm's trips: count, converting trips, sum and sum of squares."""

    trips: int = 0
    converting_trips: int = 0
    sales_micros: int = 0
    sales_sq_cents2: int = 0

    def __add__(self, other: TripSums) -> TripSums:
        return TripSums(
            self.trips + other.trips,
            self.converting_trips + other.converting_trips,
            self.sales_micros + other.sales_micros,
            self.sales_sq_cents2 + other.sales_sq_cents2,
        )

    @property
    def conversion_rate(self) -> float:
        return _ratio(self.converting_trips, self.trips)

    @property
    def sales_per_trip_micros(self) -> float:
        return _ratio(self.sales_micros, self.trips)


@dataclass(frozen=True, slots=True)
class Estimate:
    """Exposed minus holdout, with its standard error and 95% interval."""

    difference: float
    standard_error: float
    ci_low: float
    ci_high: float
    # difference / holdout value (0 when that is 0).
    relative: float

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return self.ci_low > 0 or self.ci_high < 0


def _estimate(exposed: float, holdout: float, standard_error: float) -> Estimate:
    difference = exposed - holdout
    margin = Z_95 * standard_error
    return Estimate(difference, standard_error, difference - margin, difference + margin, _ratio(difference, holdout))


def proportion_lift(exposed: TripSums, holdout: TripSums) -> Estimate | None:
    """Difference of the share of converting trips (Wald interval); None without trips on a side."""
    if exposed.trips <= 0 or holdout.trips <= 0:
        return None
    p1, p0 = exposed.conversion_rate, holdout.conversion_rate
    se = math.sqrt(p1 * (1 - p1) / exposed.trips + p0 * (1 - p0) / holdout.trips)
    return _estimate(p1, p0, se)


def sample_variance_micros2(sums: TripSums) -> float:
    """Unbiased variance of per-trip sales, in micros², from the sums; 0 with fewer than two trips."""
    n = sums.trips
    if n < 2:
        return 0.0
    mean_cents = sums.sales_micros / MICROS_PER_CENT / n
    # Never negative, though rounding per trip to cents may nudge it below zero for constant sales.
    variance_cents2 = max(0.0, (sums.sales_sq_cents2 - n * mean_cents * mean_cents) / (n - 1))
    return variance_cents2 * MICROS_PER_CENT * MICROS_PER_CENT


def mean_lift(exposed: TripSums, holdout: TripSums) -> Estimate | None:
    """Difference of mean sales per trip in micros (Welch's standard error); None without trips on a side."""
    if exposed.trips <= 0 or holdout.trips <= 0:
        return None
    se = math.sqrt(sample_variance_micros2(exposed) / exposed.trips + sample_variance_micros2(holdout) / holdout.trips)
    return _estimate(exposed.sales_per_trip_micros, holdout.sales_per_trip_micros, se)


def trip_cents(sales_micros: int) -> int:
    """One trip's sales in whole cents, as its square is summed."""
    return round(sales_micros / MICROS_PER_CENT)
