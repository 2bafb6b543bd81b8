"""Timing a piece of work in-process: the median of several rounds (the benches' one copy)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_s(rounds: int, work: Callable[[], None]) -> float:
    """The median wall time of ``rounds`` runs of ``work``, in seconds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
