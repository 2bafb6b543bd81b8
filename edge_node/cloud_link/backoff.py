"""Jittered exponential backoff, so many edges retrying after an outage do not call in lockstep."""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from ``initial_s`` up to ``max_s``, each scaled by a random factor in [0.5, 1]."""

    def __init__(self, initial_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self._initial_s = initial_s
        self._max_s = max_s
        self._rng = rng or random.Random()
        self._attempt = 0

    def next_delay_s(self) -> float:
        """The delay before the next retry; each call without a reset doubles the base."""
        base = min(self._max_s, self._initial_s * (2.0 ** min(self._attempt, 32)))
        self._attempt += 1
        return base * self._rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        """Start again from ``initial_s`` after a success."""
        self._attempt = 0
