"""Learned click and conversion rates: observed outcomes smoothed toward a prior (Beta-Binomial). Pure.

A line item's click rate is the mean of a Beta posterior: a Beta prior with mean ``prior_ctr`` and
the weight of ``prior_impressions`` impressions, updated with its observed impressions and clicks
(hourly rollups over a lookback, every store). With no data that is the prior; with many
impressions it is the observed rate. Each trigger's rate is smoothed the same way toward the line
item's own rate, so a trigger with little data borrows from the line item's other triggers.
Conversion rates are per impression, like the index's ``predicted_cvr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Typical retail-media rates: what a line item without data is ranked by.
PRIOR_CTR = 0.01
PRIOR_CVR = 0.02


@dataclass(frozen=True)
class PredictionSettings:
    """Priors and their weights (in impressions), and how far back outcomes count."""

    prior_ctr: float = PRIOR_CTR
    prior_cvr: float = PRIOR_CVR
    prior_impressions: float = 200.0
    trigger_prior_impressions: float = 100.0
    lookback_days: int = 28


@dataclass(frozen=True)
class Outcomes:
    """Observed billed impressions, clicks and conversions."""

    impressions: int = 0
    clicks: int = 0
    conversions: int = 0

    def __add__(self, other: Outcomes) -> Outcomes:
        return Outcomes(
            self.impressions + other.impressions, self.clicks + other.clicks, self.conversions + other.conversions
        )


@dataclass(frozen=True)
class Prediction:
    """A line item's rates, overall and per trigger (cartads.v1.Trigger values)."""

    ctr: float
    cvr: float
    by_trigger: Mapping[int, tuple[float, float]] = field(default_factory=dict)


def smoothed_rate(successes: int, trials: int, prior_mean: float, prior_weight: float) -> float:
    """Posterior mean of a Beta(prior_mean·w, (1 - prior_mean)·w) prior after the observations."""
    successes, trials = max(0, successes), max(0, trials)
    if trials + prior_weight <= 0:
        return prior_mean
    # Clicks can outnumber viewable impressions (a click on an ad not yet counted as seen).
    return min(1.0, max(0.0, (successes + prior_mean * prior_weight) / (trials + prior_weight)))


def predict(by_trigger: Mapping[int, Outcomes], settings: PredictionSettings) -> Prediction:
    """The rates of one line item from its outcomes per trigger (0: trigger unknown)."""
    total = sum(by_trigger.values(), Outcomes())
    ctr = smoothed_rate(total.clicks, total.impressions, settings.prior_ctr, settings.prior_impressions)
    cvr = smoothed_rate(total.conversions, total.impressions, settings.prior_cvr, settings.prior_impressions)
    weight = settings.trigger_prior_impressions
    per_trigger = {
        trigger: (
            smoothed_rate(o.clicks, o.impressions, ctr, weight),
            smoothed_rate(o.conversions, o.impressions, cvr, weight),
        )
        for trigger, o in sorted(by_trigger.items())
        if trigger > 0 and o.impressions > 0
    }
    return Prediction(ctr, cvr, per_trigger)


def predict_all(outcomes: Mapping[str, Mapping[int, Outcomes]], settings: PredictionSettings) -> dict[str, Prediction]:
    """Rates per line item id, for every line item with outcomes (others use the priors)."""
    return {line_item_id: predict(by_trigger, settings) for line_item_id, by_trigger in outcomes.items()}


def shipped(rate: float) -> float:
    """A rate as the index carries it: four significant digits, so noise does not churn versions."""
    return float(f"{rate:.4g}")
