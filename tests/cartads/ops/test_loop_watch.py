"""The event loop watch: the tally of late wake-ups, and a real blocked loop seen as one stall."""

from __future__ import annotations

import asyncio
import time

import pytest

from cartads.ops.loop_watch import StallTracker, cpu_wait_reader, watch_loop


def test_on_time_wake_ups_are_no_stall() -> None:
    """Wake-ups on time or early count as samples and raise nothing."""
    tracker = StallTracker()
    for late_ms in (0.0, -3.0, 0.0):
        tracker.record(late_ms)
    assert (tracker.samples, tracker.max_ms, tracker.count_over(50)) == (3, 0.0, 0)


def test_stalls_are_counted_per_threshold() -> None:
    """A stall counts under every threshold it reaches, and the largest is kept."""
    tracker = StallTracker()
    for late_ms in (10.0, 60.0, 300.0, 1200.0):
        tracker.record(late_ms)
    assert tracker.max_ms == 1200.0
    assert [tracker.count_over(t) for t in (50, 250, 1000)] == [3, 2, 1]


class _Signalling(StallTracker):
    """A tracker that says when it has seen a number of wake-ups."""

    def __init__(self) -> None:
        super().__init__()
        self._wanted = 0
        self._reached = asyncio.Event()

    def record(self, late_ms: float, cpu_wait_ms: float = 0.0) -> None:
        super().record(late_ms, cpu_wait_ms)
        if self.samples >= self._wanted:
            self._reached.set()

    async def wait_for_samples(self, count: int) -> None:
        self._wanted = count
        if self.samples < count:
            self._reached.clear()
            await self._reached.wait()


async def test_a_blocked_loop_is_one_stall_of_its_length() -> None:
    """A callback that holds the loop for 0.3 s shows as one stall of at least 300 ms, not one per interval."""
    tracker = _Signalling()
    watch = asyncio.create_task(watch_loop(tracker, interval_s=0.01))
    try:
        await tracker.wait_for_samples(3)
        time.sleep(0.3)  # noqa: ASYNC251 - the behaviour under test: synchronous work that never yields
        await tracker.wait_for_samples(tracker.samples + 3)
    finally:
        watch.cancel()
    assert tracker.max_ms >= 290
    assert tracker.count_over(250) == 1


def test_the_wait_for_a_cpu_is_not_the_loops_own_stall() -> None:
    """A stall spent waiting for a CPU counts as a stall but not as one the process caused itself."""
    tracker = StallTracker()
    tracker.record(120.0, cpu_wait_ms=110.0)
    tracker.record(70.0, cpu_wait_ms=0.0)
    assert (tracker.max_ms, tracker.count_over(50)) == (120.0, 2)
    assert (tracker.busy_max_ms, tracker.count_busy_over(50)) == (70.0, 1)


async def test_a_blocked_loop_is_its_own_stall_whatever_the_cpu_wait_reader_says() -> None:
    """The run-queue wait read at each wake-up is taken off the lateness: none read, all of it is the loop's."""
    tracker = _Signalling()
    watch = asyncio.create_task(watch_loop(tracker, interval_s=0.01, cpu_wait_s=lambda: 0.0))
    try:
        await tracker.wait_for_samples(3)
        time.sleep(0.1)  # noqa: ASYNC251 - the behaviour under test: synchronous work that never yields
        await tracker.wait_for_samples(tracker.samples + 3)
    finally:
        watch.cancel()
    assert tracker.busy_max_ms >= 90
    assert tracker.count_busy_over(50) == 1


def test_schedstat_reader_reads_this_threads_cumulative_wait() -> None:
    """Where the kernel has schedstats the reader answers a non-decreasing number of seconds."""
    read = cpu_wait_reader()
    if read is None:
        pytest.skip("no /proc/thread-self/schedstat on this kernel")
    first = read()
    sum(range(200_000))  # a little CPU work in between
    assert 0.0 <= first <= read()
