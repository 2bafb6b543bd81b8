"""The store-day bench's pure parts: a trip at a shopper's pace, and the tally of the carts' calls."""

from __future__ import annotations

import json

import pytest

from cart_client.sensors.trace import Scan, SensorEvent, Zone
from cartads.bench.cli import build_parser, main
from cartads.bench.soak.pace import paced
from cartads.bench.store_day.tally import (
    CallTally,
    blamed_on_client,
    getads_figures,
    merge,
    overlap_s,
    percentile_ms,
)


class _FakeTime:
    """A clock that only sleeping moves."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


async def test_paced_trip_yields_each_event_at_its_compressed_trip_time() -> None:
    """Events come t_ms / speedup after the trip started, never sooner."""
    time = _FakeTime()
    events: list[SensorEvent] = [
        Zone(zone_id="z", t_ms=0),
        Scan(product_id="p", t_ms=10_000),
        Scan(product_id="q", t_ms=30_000),
    ]
    seen = []
    async for event in paced(events, 10.0, clock=time.clock, sleep=time.sleep):
        seen.append((event, round(time.now - 100.0, 6)))
    assert [at for _, at in seen] == [0.0, 1.0, 3.0]
    assert [event for event, _ in seen] == events


async def test_paced_trip_does_not_wait_for_an_event_already_due() -> None:
    """A consumer that fell behind gets the next events at once (no sleep with a negative wait)."""
    time = _FakeTime()
    events = [Scan(product_id="p", t_ms=1_000), Scan(product_id="q", t_ms=2_000), Scan(product_id="r", t_ms=3_000)]
    iterator = aiter(paced(events, 1.0, clock=time.clock, sleep=time.sleep))
    await anext(iterator)
    time.now += 5.0  # the caller was busy for 5 s before asking again
    await anext(iterator)
    await anext(iterator)
    assert time.slept == [1.0]


async def test_paced_refuses_a_speedup_that_is_not_positive() -> None:
    """A zero speedup is a usage error, not a division by zero mid-run."""
    with pytest.raises(ValueError, match="speedup"):
        await anext(aiter(paced([Scan(product_id="p", t_ms=1)], 0.0)))


def test_an_answer_past_the_deadline_is_a_miss() -> None:
    """An answered call of 50 ms or more counts as a deadline miss, a quicker one does not."""
    tally = CallTally()
    tally.answered(1.0, 1.002)
    tally.answered(2.0, 2.051)
    assert tally.calls == 2
    assert tally.misses == [(2.0, 2.051)]


def test_deadline_exceeded_is_a_miss_and_other_failures_are_not() -> None:
    """DEADLINE_EXCEEDED is a miss; RESOURCE_EXHAUSTED is counted by code only."""
    tally = CallTally()
    tally.failed("DEADLINE_EXCEEDED", 1.0, 1.05)
    tally.failed("RESOURCE_EXHAUSTED", 2.0, 2.001)
    assert tally.failures == {"DEADLINE_EXCEEDED": 1, "RESOURCE_EXHAUSTED": 1}
    assert len(tally.misses) == 1


def test_overlap_counts_only_the_part_inside_the_window() -> None:
    """Stalls are clipped to the call's window."""
    assert overlap_s((1.0, 1.05), [(0.9, 1.01), (1.04, 2.0), (3.0, 4.0)]) == pytest.approx(0.02)


def test_a_miss_is_the_load_generators_only_when_its_loop_stood_still_long_enough() -> None:
    """A miss overlapping 10 ms or more of the load process's own stall is blamed on it; 5 ms is not enough."""
    misses = [(1.0, 1.05), (2.0, 2.05)]
    stalls = [(1.01, 1.03), (2.0, 2.005)]
    assert blamed_on_client(misses, stalls) == 1


def test_merged_tallies_add_up() -> None:
    """Merging keeps every latency, miss and failure of every process."""
    one, two = CallTally(), CallTally()
    one.answered(0.0, 0.001)
    two.answered(0.0, 0.002)
    two.failed("UNAVAILABLE", 0.0, 0.0)
    merged = merge([one, two, CallTally.from_json(two.as_json())])
    assert merged.calls == 5
    assert merged.failures == {"UNAVAILABLE": 2}


def test_percentiles_count_a_deadline_miss_as_the_deadline() -> None:
    """With 1% of calls past the deadline the p99 is the deadline, not the slowest answer's latency."""
    tally = CallTally()
    for n in range(99):
        tally.answered(float(n), n + 0.002)
    tally.failed("DEADLINE_EXCEEDED", 200.0, 200.05)
    figures = getads_figures(tally, blamed=0)
    assert figures["getads_p50_ms"] == pytest.approx(2.0, abs=0.01)
    assert figures["getads_p99_ms"] == 50.0
    assert (figures["deadline_misses_50ms"], figures["deadline_misses_edge"]) == (1, 1)


def test_percentile_of_nothing_is_zero() -> None:
    """No call, no latency."""
    assert percentile_ms([], 0.99) == 0.0


def test_store_day_is_registered_with_its_flags() -> None:
    """cartads-bench store-day takes --carts and --seconds, 200 carts for 60 s by default."""
    args = build_parser().parse_args(["store-day", "--json"])
    assert (args.carts, args.seconds, args.push_every_s) == (200, 60.0, 10.0)


def test_a_short_store_day_runs_every_cart_enrolled_against_a_live_edge(capsys: pytest.CaptureFixture[str]) -> None:
    """A few carts for a few seconds: real cloud and edge processes, every cart served on its own
    credential, GetAds and ReportEvents made and timed, an index push, the figures printed as JSON."""
    argv = ["store-day", "--json", "--carts", "4", "--seconds", "4", "--speedup", "60", "--push-every-s", "2"]
    argv += ["--load-processes", "2", "--start-after-s", "8", "--ramp-s", "0.5"]
    main(argv)
    figures = json.loads(capsys.readouterr().out)
    assert figures["getads_requests"] > 0
    assert figures["report_requests"] > 0
    assert figures["requests"] == figures["getads_requests"] + figures["report_requests"]
    assert figures["refused_carts"] == 0
    assert "UNAUTHENTICATED" not in figures["getads_errors_by_code"]
    assert "RESOURCE_EXHAUSTED" not in figures["getads_errors_by_code"]
    assert figures["index_pushes"] >= 1
    assert figures["load_processes"] == 2
    assert figures["exit_codes"] == {"edge": 0, "cloud": 0}
    for key in ("getads_p99_ms", "getads_p999_ms", "deadline_misses_50ms", "edge_loop_busy_stall_max_ms"):
        assert key in figures


def test_store_day_refuses_a_run_without_carts(capsys: pytest.CaptureFixture[str]) -> None:
    """Zero carts is a usage error (exit 2, a message), not a crash."""
    assert main(["store-day", "--carts", "0"]) == 2
    assert "--carts" in capsys.readouterr().err
