"""How long the event loop was kept from running its callbacks: the stalls a server's callers feel.

A task sleeps a short interval and measures how late it woke; lateness is time the loop spent on
something else without yielding (a long synchronous call, a garbage collection, a blocked read).
``StallTracker`` is the pure tally (the largest stall, how many passed each threshold); ``watch_loop``
is the shell that feeds it and logs stalls long enough to miss a cart's deadline.

A late wake-up has two possible causes, and they need opposite fixes: the loop thread was busy (its
own work, or waiting for the GIL or a blocking call: the process's fault) or it was runnable but the
kernel gave its CPU to someone else (a machine shared with other work: no code change in the process
helps). On Linux the thread's run-queue wait (``/proc/thread-self/schedstat``) is read at each wake-up,
and the tally keeps the lateness without that wait apart: ``busy_max_ms`` and ``count_busy_over``.
"""

from __future__ import annotations

import asyncio
import os
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
    # The same without the time the thread waited for a CPU: what the process itself held the loop for.
    busy_max_ms: float = 0.0
    busy_over: dict[int, int] | None = None

    def record(self, late_ms: float, cpu_wait_ms: float = 0.0) -> None:
        """One wake-up, ``late_ms`` after it was due (negative or zero: on time), of which the thread
        spent ``cpu_wait_ms`` runnable but waiting for a CPU (0 where that is not known)."""
        self.samples += 1
        if late_ms <= 0:
            return
        self.max_ms = max(self.max_ms, late_ms)
        self.over = _counted(self.over, late_ms)
        busy_ms = late_ms - max(0.0, cpu_wait_ms)
        if busy_ms > 0:
            self.busy_max_ms = max(self.busy_max_ms, busy_ms)
            self.busy_over = _counted(self.busy_over, busy_ms)

    def count_over(self, threshold_ms: int) -> int:
        """How many wake-ups were at least ``threshold_ms`` late (one of ``STALL_THRESHOLDS_MS``)."""
        return (self.over or {}).get(threshold_ms, 0)

    def count_busy_over(self, threshold_ms: int) -> int:
        """How many wake-ups were at least ``threshold_ms`` late not counting the wait for a CPU."""
        return (self.busy_over or {}).get(threshold_ms, 0)


def _counted(over: dict[int, int] | None, late_ms: float) -> dict[int, int]:
    out = over if over is not None else {}
    for threshold in STALL_THRESHOLDS_MS:
        if late_ms >= threshold:
            out[threshold] = out.get(threshold, 0) + 1
    return out


_SCHEDSTAT = "/proc/thread-self/schedstat"


def cpu_wait_reader() -> Callable[[], float] | None:
    """A function answering how long (seconds, cumulative) the calling thread has waited runnable for a
    CPU, from the kernel's schedstat; None where the kernel does not say (not Linux, no schedstats).
    The file is opened here, so call it from the thread to be watched."""
    try:
        fd = os.open(_SCHEDSTAT, os.O_RDONLY)
    except OSError:
        return None

    def read() -> float:
        # "<ns on CPU> <ns waiting on a run queue> <timeslices>"; pread re-reads the live value.
        return int(os.pread(fd, 128, 0).split()[1]) / 1e9

    try:
        read()
    except (OSError, ValueError, IndexError):
        os.close(fd)
        return None
    return read


async def watch_loop(
    tracker: StallTracker,
    *,
    interval_s: float = 0.02,
    log_over_ms: float = 250.0,
    clock: Callable[[], float] = time.monotonic,
    cpu_wait_s: Callable[[], float] | None = None,
) -> None:
    """Wake every ``interval_s`` and record how late each wake-up was, until cancelled; a stall of at
    least ``log_over_ms`` is logged (a few a minute at most). ``cpu_wait_s`` (default: this thread's
    schedstat, where there is one) tells the thread's wait for a CPU apart from its own stalls."""
    budget = LogBudget(lambda _key, count: _log.warning("event_loop_stalls_suppressed", count=count), per_s=1)
    waited = cpu_wait_s if cpu_wait_s is not None else (cpu_wait_reader() or (lambda: 0.0))
    due = clock() + interval_s
    waited_s = waited()
    while True:
        await asyncio.sleep(max(0.0, due - clock()))
        now = clock()
        late_ms = (now - due) * 1000
        # The wait since the last wake-up: asleep the thread is not runnable, so this is the wait
        # for a CPU after the timer fired (and in any callback that ran meanwhile).
        waited_before, waited_s = waited_s, waited()
        cpu_wait_ms = (waited_s - waited_before) * 1000
        tracker.record(late_ms, cpu_wait_ms)
        if late_ms >= log_over_ms and budget.allow("stall"):
            _log.warning("event_loop_stalled", late_ms=round(late_ms, 1), cpu_wait_ms=round(cpu_wait_ms, 1))
        # The next wake-up is due an interval after this one, not after the missed one: a long
        # stall counts once, not once per interval it covered.
        due = now + interval_s
