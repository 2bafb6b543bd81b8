"""The garbage collector's pauses: the tally, and real collections seen through gc.callbacks."""

from __future__ import annotations

import gc

from cartads.ops.gc_watch import GcPauses, watch_gc


def test_the_longest_pause_is_kept_per_generation() -> None:
    """Each generation keeps its own longest pause and count; longest_ms is the largest of all."""
    pauses = GcPauses()
    for generation, ms in ((0, 1.0), (0, 3.0), (2, 40.0), (0, 2.0)):
        pauses.record(generation, ms)
    assert pauses.max_ms == {0: 3.0, 2: 40.0}
    assert pauses.counts == {0: 3, 2: 1}
    assert pauses.longest_ms() == 40.0


def test_no_collection_no_pause() -> None:
    """Before any collection the longest pause is 0."""
    assert GcPauses().longest_ms() == 0.0


def test_a_full_collection_is_timed_until_the_watch_stops() -> None:
    """gc.collect() shows as one generation-2 collection; after stop() none is recorded."""
    pauses = GcPauses()
    stop = watch_gc(pauses)
    try:
        gc.collect()
    finally:
        stop()
    assert pauses.counts.get(2, 0) >= 1
    assert pauses.max_ms[2] >= 0.0
    seen = dict(pauses.counts)
    gc.collect()
    assert pauses.counts == seen
