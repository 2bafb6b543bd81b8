"""What the store-day carts saw, tallied (pure: plain values in, plain values out).

Each load process keeps a ``CallTally`` per method (latencies of the answered calls, failures by
status code, and the window of each call that missed the cart's 50 ms deadline) and a list of its
own event-loop stalls. A miss whose window overlaps the load process's own stalls by at least
``CLIENT_STALL_BLAME_MS`` is the load generator's, not the edge's: its call could not even be sent
or its answer read in time. The main process merges the tallies of every load process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

DEADLINE_MS = 50.0
# A miss is blamed on the load process when its own loop stood still this long within the call: a
# fifth of the deadline, more than the edge's answer takes at p99 on a quiet machine.
CLIENT_STALL_BLAME_MS = 10.0


@dataclass
class CallTally:
    """One method's calls: latencies (ms) of the answered ones, failures by status code name, and the
    (start, end) monotonic seconds of each call that missed ``DEADLINE_MS``."""

    latencies_ms: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    misses: list[tuple[float, float]] = field(default_factory=list)

    def answered(self, started_s: float, ended_s: float) -> None:
        """A call that answered; past the deadline it is a miss as well."""
        latency_ms = (ended_s - started_s) * 1000
        self.latencies_ms.append(latency_ms)
        if latency_ms >= DEADLINE_MS:
            self.misses.append((started_s, ended_s))

    def failed(self, code: str, started_s: float, ended_s: float) -> None:
        """A call that failed with status ``code`` (DEADLINE_EXCEEDED is a miss)."""
        self.failures[code] = self.failures.get(code, 0) + 1
        if code == "DEADLINE_EXCEEDED":
            self.misses.append((started_s, ended_s))

    @property
    def calls(self) -> int:
        """Every call that ended, answered or not."""
        return len(self.latencies_ms) + sum(self.failures.values())

    def as_json(self) -> dict[str, Any]:
        """The tally as JSON-ready values (for the load process's answer to the main one)."""
        return {"latencies_ms": self.latencies_ms, "failures": self.failures, "misses": self.misses}

    @staticmethod
    def from_json(data: dict[str, Any]) -> CallTally:
        """The tally ``as_json`` wrote."""
        return CallTally(
            latencies_ms=[float(x) for x in data["latencies_ms"]],
            failures={str(k): int(v) for k, v in data["failures"].items()},
            misses=[(float(s), float(e)) for s, e in data["misses"]],
        )


def overlap_s(window: tuple[float, float], stalls: Sequence[tuple[float, float]]) -> float:
    """Seconds of ``stalls`` (each (start, end)) that fall within ``window``."""
    start, end = window
    return sum(max(0.0, min(end, s_end) - max(start, s_start)) for s_start, s_end in stalls)


def blamed_on_client(misses: Iterable[tuple[float, float]], stalls: Sequence[tuple[float, float]]) -> int:
    """How many misses overlap the load process's own loop stalls by at least ``CLIENT_STALL_BLAME_MS``."""
    return sum(1 for miss in misses if overlap_s(miss, stalls) * 1000 >= CLIENT_STALL_BLAME_MS)


def percentile_ms(latencies_ms: Sequence[float], fraction: float) -> float:
    """The latency below which ``fraction`` of the calls fell, nearest rank (0 when there is none)."""
    ordered = sorted(latencies_ms)
    if not ordered:
        return 0.0
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 3)


def merge(tallies: Iterable[CallTally]) -> CallTally:
    """One tally of several load processes' tallies of the same method."""
    out = CallTally()
    for one in tallies:
        out.latencies_ms.extend(one.latencies_ms)
        out.misses.extend(one.misses)
        for code, count in one.failures.items():
            out.failures[code] = out.failures.get(code, 0) + count
    return out


def getads_figures(tally: CallTally, blamed: int) -> dict[str, Any]:
    """The GetAds figures the bench prints. A call past its deadline has no answer to time, so the
    percentiles count each miss at the deadline or beyond (ranked with the answers)."""
    timed = tally.latencies_ms + [DEADLINE_MS] * tally.failures.get("DEADLINE_EXCEEDED", 0)
    return {
        "getads_p50_ms": percentile_ms(timed, 0.5),
        "getads_p99_ms": percentile_ms(timed, 0.99),
        "getads_p999_ms": percentile_ms(timed, 0.999),
        "getads_max_ms": percentile_ms(timed, 1.0),
        "deadline_misses_50ms": len(tally.misses),
        "deadline_misses_during_load_stall": blamed,
        "deadline_misses_edge": len(tally.misses) - blamed,
    }
