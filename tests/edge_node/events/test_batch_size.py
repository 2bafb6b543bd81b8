"""Upload batches adapt to the link: they grow while uploads are quick and shrink when they are slow."""

from __future__ import annotations

from edge_node.events.batch_size import BatchSizer


def sizer() -> BatchSizer:
    return BatchSizer(min_events=500, max_events=5000, target_s=2.5)


def test_full_quick_batches_double_up_to_the_bound() -> None:
    """Full batches answered in under half the target double: 500, 1000, 2000, 4000, then 5000."""
    s = sizer()
    seen = []
    for _ in range(5):
        s.answered(s.size, 0.2)
        seen.append(s.size)
    assert seen == [1000, 2000, 4000, 5000, 5000]


def test_a_batch_short_of_full_does_not_grow_the_next() -> None:
    """A quick batch that did not fill its size (the backlog was smaller) leaves the size as it was."""
    s = sizer()
    s.answered(120, 0.1)
    assert s.size == 500


def test_a_slow_batch_halves_the_next_down_to_the_floor() -> None:
    """Answered after more than the target: halved, but never below min_events."""
    s = sizer()
    for _ in range(3):
        s.answered(s.size, 0.2)
    s.answered(s.size, 3.0)
    assert s.size == 2000
    for _ in range(5):
        s.failed()
    assert s.size == 500


def test_a_floor_above_the_bound_is_the_bound() -> None:
    """min_events above max_events starts (and stays) at max_events."""
    s = BatchSizer(min_events=500, max_events=2, target_s=1.0)
    s.answered(2, 0.0)
    assert s.size == 2
