"""A scale you can trust: raw load-cell readings in, stable weight changes out.

A cart's load cell streams noisy gross weights: the basket swings while an item goes in, the cell
creeps with temperature, and the shopper may tare a bag of their own. Fusion must see only settled
changes, so a weight is accepted only when stable: the last ``window`` readings lie within
``tolerance_g`` of each other and none was flagged in motion by the device. The mean of that window
is a stable level; the change from the previous stable level, when it is at least
``min_change_g``, is one stable delta (an item in or out).

Drift: a stable level that moved less than ``min_change_g`` is the cell creeping, and the reference
follows it, but at most ``drift_g_per_s`` per second of trip time, so an item lowered very slowly
still counts once its weight has accumulated. Tare: after ``tare()`` the next stable level becomes
the reference and no change is reported (the shopper's own bag is not an item).

Pure: readings and the trip clock in, deltas out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StableScaleConfig:
    """How settled a reading must be to count, and what counts as drift."""

    window: int = 5
    tolerance_g: float = 4.0
    min_change_g: float = 5.0
    drift_g_per_s: float = 0.5

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ValueError("window must hold at least 2 readings")
        if not (self.tolerance_g > 0 and self.min_change_g > 0 and self.drift_g_per_s >= 0):
            raise ValueError("tolerance_g and min_change_g must be positive, drift_g_per_s not negative")


class StableScale:
    """The stable levels of one load cell and the changes between them."""

    def __init__(self, config: StableScaleConfig | None = None) -> None:
        self.config = config or StableScaleConfig()
        self._window: deque[float] = deque(maxlen=self.config.window)
        self._reference_g: float | None = None
        self._reference_at_ms = 0
        self.readings = 0
        self.motion_readings = 0
        self.drift_absorbed_g = 0.0

    @property
    def reference_g(self) -> float | None:
        """The last stable level (None before the first, or right after a tare)."""
        return self._reference_g

    def tare(self) -> None:
        """The next stable level is the new zero: whatever is on the scale now is not an item."""
        self._reference_g = None
        self._window.clear()

    def reading(self, gross_g: float, now_ms: int, *, motion: bool = False) -> float | None:
        """One raw reading; returns the stable change it completes, or None."""
        self.readings += 1
        if motion:
            # The device itself says the load is moving: nothing before this settles anything.
            self.motion_readings += 1
            self._window.clear()
            return None
        self._window.append(gross_g)
        if len(self._window) < self.config.window or max(self._window) - min(self._window) > self.config.tolerance_g:
            return None
        level = sum(self._window) / len(self._window)
        if self._reference_g is None:
            self._reference_g, self._reference_at_ms = level, now_ms
            return None
        change = level - self._reference_g
        if abs(change) >= self.config.min_change_g:
            self._reference_g, self._reference_at_ms = level, now_ms
            # A settled level is reported once: the next reading must build a fresh window.
            self._window.clear()
            return change
        allowed = self.config.drift_g_per_s * max(0, now_ms - self._reference_at_ms) / 1000
        step = max(-allowed, min(allowed, change))
        self._reference_g += step
        self._reference_at_ms = now_ms
        self.drift_absorbed_g += abs(step)
        return None


__all__ = ["StableScale", "StableScaleConfig"]
