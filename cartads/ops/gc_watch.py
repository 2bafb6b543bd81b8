"""How long the garbage collector held the process: each collection timed, the longest per generation.

A collection runs inside whatever allocation triggered it, on the event loop's thread as often as not,
and a full one walks every tracked object that ``gc.freeze`` did not set aside: the loop stands still
for as long. ``GcPauses`` is the pure tally; ``watch_gc`` hooks it into ``gc.callbacks``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class GcPauses:
    """The longest collection per generation (ms) and how many collections of each ran."""

    max_ms: dict[int, float] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)

    def record(self, generation: int, pause_ms: float) -> None:
        """One collection of ``generation`` that took ``pause_ms``."""
        self.counts[generation] = self.counts.get(generation, 0) + 1
        self.max_ms[generation] = max(self.max_ms.get(generation, 0.0), pause_ms)

    def longest_ms(self) -> float:
        """The longest collection of any generation so far (0 before any)."""
        return max(self.max_ms.values(), default=0.0)


def watch_gc(pauses: GcPauses, clock: Callable[[], float] = time.perf_counter) -> Callable[[], None]:
    """Time every collection of this process into ``pauses``; returns the function that stops it."""
    started: list[float] = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = clock()
        else:
            pauses.record(int(info["generation"]), (clock() - started[0]) * 1000)

    gc.callbacks.append(callback)

    def stop() -> None:
        if callback in gc.callbacks:
            gc.callbacks.remove(callback)

    return stop
