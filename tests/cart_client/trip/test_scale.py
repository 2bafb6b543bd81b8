"""The stable-scale filter: raw load-cell readings in, stable weight changes out."""

from __future__ import annotations

import pytest

from cart_client.trip.scale import StableScale, StableScaleConfig


def _feed(scale: StableScale, readings: list[float], start_ms: int, *, step_ms: int = 50) -> list[float]:
    out = []
    for i, grams in enumerate(readings):
        delta = scale.reading(grams, start_ms + i * step_ms)
        if delta is not None:
            out.append(delta)
    return out


def test_the_first_stable_level_is_the_reference_not_an_item() -> None:
    """An empty cart settling at its own weight reports nothing."""
    scale = StableScale()
    assert _feed(scale, [12.0, 12.5, 11.8, 12.1, 12.2], 0) == []
    assert scale.reference_g == pytest.approx(12.12)


def test_a_stable_step_is_reported_once_as_the_mean_change() -> None:
    """A settled step is one delta, the mean of the window against the reference, reported once."""
    scale = StableScale()
    _feed(scale, [0.0] * 5, 0)
    deltas = _feed(scale, [500.0, 502.0, 498.0, 501.0, 499.0] + [500.0] * 10, 1_000)
    assert deltas == [pytest.approx(500.0)]


def test_fewer_readings_than_the_window_settle_nothing() -> None:
    """Four settled readings are not yet a stable level with a window of five."""
    scale = StableScale()
    _feed(scale, [0.0] * 5, 0)
    assert _feed(scale, [300.0] * 4, 1_000) == []


def test_a_spread_wider_than_the_tolerance_is_not_stable() -> None:
    """Readings 5 g apart with a 4 g tolerance never settle."""
    scale = StableScale(StableScaleConfig(tolerance_g=4.0))
    _feed(scale, [0.0] * 5, 0)
    assert _feed(scale, [300.0, 305.0] * 6, 1_000) == []


def test_a_motion_flag_restarts_the_window() -> None:
    """A reading the device flags in motion discards the readings before it."""
    scale = StableScale()
    _feed(scale, [0.0] * 5, 0)
    _feed(scale, [300.0] * 4, 1_000)
    assert scale.reading(300.0, 1_200, motion=True) is None
    assert _feed(scale, [300.0] * 4, 1_250) == []
    assert _feed(scale, [300.0], 1_450) == [pytest.approx(300.0)]


def test_creep_faster_than_the_drift_rate_is_an_item() -> None:
    """An item lowered so slowly that every window looks settled still counts once its weight adds up."""
    scale = StableScale(StableScaleConfig(drift_g_per_s=0.5))
    _feed(scale, [0.0] * 5, 0)
    deltas = _feed(scale, [i * 0.5 for i in range(1, 80)], 250)
    assert len(deltas) >= 1
    assert sum(deltas) == pytest.approx(39.5, abs=6.0)


def test_drift_is_absorbed_at_most_at_its_rate() -> None:
    """The reference follows slow creep and records how much it absorbed."""
    scale = StableScale(StableScaleConfig(drift_g_per_s=0.5))
    _feed(scale, [0.0] * 5, 0)
    _feed(scale, [2.0] * 5, 1_000)
    # 1 s after the last settled level, at most 0.5 g of the 2 g shift is drift.
    assert scale.reference_g == pytest.approx(0.5)
    _feed(scale, [2.0] * 5, 20_000)
    assert scale.reference_g == pytest.approx(2.0)
    assert scale.drift_absorbed_g == pytest.approx(2.0)


def test_tare_makes_the_next_level_the_reference() -> None:
    """After a tare, the bag on the scale is the new zero and only what follows is reported."""
    scale = StableScale()
    _feed(scale, [0.0] * 5, 0)
    scale.tare()
    assert _feed(scale, [250.0] * 5, 1_000) == []
    assert _feed(scale, [610.0] * 5, 2_000) == [pytest.approx(360.0)]


@pytest.mark.parametrize(
    "kwargs", [{"window": 1}, {"tolerance_g": 0.0}, {"min_change_g": -1.0}, {"drift_g_per_s": -0.1}]
)
def test_a_bad_configuration_is_refused(kwargs: dict[str, float]) -> None:
    """A window of one reading, a zero tolerance or a negative threshold is a configuration error."""
    with pytest.raises(ValueError, match="must"):
        StableScaleConfig(**kwargs)  # type: ignore[arg-type]
