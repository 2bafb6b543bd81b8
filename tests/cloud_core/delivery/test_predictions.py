"""Learned click and conversion rates with Beta smoothing. Pure."""

from __future__ import annotations

import pytest

from cloud_core.delivery.predictions import Outcomes, PredictionSettings, predict, smoothed_rate

SETTINGS = PredictionSettings(prior_ctr=0.01, prior_cvr=0.02, prior_impressions=200, trigger_prior_impressions=100)


def test_no_data_gives_the_prior() -> None:
    """Without impressions the rate is the prior's mean."""
    assert smoothed_rate(0, 0, 0.01, 200) == pytest.approx(0.01)


def test_little_data_moves_little() -> None:
    """Ten impressions with one click (10%) barely move a prior of 1% weighted as 200 impressions."""
    assert smoothed_rate(1, 10, 0.01, 200) == pytest.approx((1 + 2) / 210)


def test_much_data_approaches_the_observed_rate() -> None:
    """A hundred thousand impressions at 5% give nearly 5%."""
    assert smoothed_rate(5_000, 100_000, 0.01, 200) == pytest.approx(0.05, rel=0.01)


def test_rates_stay_in_bounds() -> None:
    """More clicks than impressions (clicks on ads not yet seen) never give a rate above one."""
    assert smoothed_rate(50, 10, 0.5, 0) == 1.0


def test_line_item_rates_pool_every_trigger() -> None:
    """The line item's CTR and CVR come from its outcomes over all triggers."""
    p = predict({1: Outcomes(1_000, 30, 10), 2: Outcomes(1_000, 10, 30)}, SETTINGS)
    assert p.ctr == pytest.approx((40 + 2) / 2_200)
    assert p.cvr == pytest.approx((40 + 4) / 2_200)


def test_trigger_rates_shrink_toward_the_line_item() -> None:
    """A trigger's rate is smoothed toward the line item's own rate, not the global prior."""
    p = predict({1: Outcomes(10_000, 500, 0), 2: Outcomes(10, 0, 0)}, SETTINGS)
    ctr_2, _ = p.by_trigger[2]
    assert ctr_2 == pytest.approx((0 + p.ctr * 100) / 110)
    assert p.by_trigger[1][0] > p.by_trigger[2][0]


def test_unknown_trigger_counts_only_for_the_line_item() -> None:
    """Outcomes without a trigger (older tokens) feed the line item's rate but get no trigger rate."""
    p = predict({0: Outcomes(1_000, 50, 0)}, SETTINGS)
    assert p.by_trigger == {}
    assert p.ctr == pytest.approx((50 + 2) / 1_200)
