"""How long the event loop was kept from running its callbacks: the stalls a server's callers feel.

A task sleeps a short interval and measures how late it woke; lateness is time the loop spent on
something else without yielding (a long synchronous call, a garbage collection, a blocked read).
``StallTracker`` is the pure tally (the largest stall, how many passed each threshold); ``watch_loop``
is the shell that feeds it and logs stalls long enough to miss a cart's deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from cartads.ops.logs import LogBudget

_log = structlog.get_logger("ops.loop")

# Thresholds counted separately: a cart's GetAds deadline is 50 ms.
STALL_THRESHOLDS_MS = (50, 250, 1000)


@dataclass
class StallTracker:
    """Lateness of a periodic wake-up, in milliseconds: the largest so far and how many passed each threshold."""

    max_ms: float = 0.0
    samples: int = 0
    over: dict[int, int] | None = None

    def record(self, late_ms: float) -> None:
        """One wake-up, ``late_ms`` after it was due (negative or zero: on time)."""
        self.samples += 1
        if late_ms <= 0:
            return
        self.max_ms = max(self.max_ms, late_ms)
        over = self.over if self.over is not None else {}
        for threshold in STALL_THRESHOLDS_MS:
            if late_ms >= threshold:
                over[threshold] = over.get(threshold, 0) + 1
        self.over = over

    def count_over(self, threshold_ms: int) -> int:
        """How many wake-ups were at least ``threshold_ms`` late (one of ``STALL_THRESHOLDS_MS``)."""
        return (self.over or {}).get(threshold_ms, 0)


async def watch_loop(
    tracker: StallTracker,
    *,
    interval_s: float = 0.02,
    log_over_ms: float = 250.0,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Wake every ``interval_s`` and record how late each wake-up was, until cancelled; a stall of at
    least ``log_over_ms`` is logged (a few a minute at most)."""
    budget = LogBudget(lambda _key, count: _log.warning("event_loop_stalls_suppressed", count=count), per_s=1)
    due = clock() + interval_s
    while True:
        await asyncio.sleep(max(0.0, due - clock()))
        now = clock()
        late_ms = (now - due) * 1000
        tracker.record(late_ms)
        if late_ms >= log_over_ms and budget.allow("stall"):
            _log.warning("event_loop_stalled", late_ms=round(late_ms, 1))
        # The next wake-up is due an interval after this one, not after the missed one: a long
        # stall counts once, not once per interval it covered.
        due = now + interval_s
