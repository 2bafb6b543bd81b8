"""Frequency state per cart session."""

from __future__ import annotations

from edge_node.serving.local_state import SessionFrequency


def test_frequency_counts_per_session() -> None:
    """Served line items are counted per (cart, session)."""
    frequency = SessionFrequency(max_sessions=10)
    frequency.record("c", "s", ["a", "b"])
    frequency.record("c", "s", ["a"])
    assert dict(frequency.get("c", "s")) == {"a": 2, "b": 1}
    assert dict(frequency.get("c", "other")) == {}


def test_frequency_forgets_least_recent_sessions() -> None:
    """Beyond max_sessions the least recently served session is evicted."""
    frequency = SessionFrequency(max_sessions=2)
    frequency.record("c", "old", ["a"])
    frequency.record("c", "mid", ["a"])
    frequency.record("c", "old", ["a"])  # touched again: now the most recent
    frequency.record("c", "new", ["a"])
    assert len(frequency) == 2
    assert dict(frequency.get("c", "mid")) == {}
    assert dict(frequency.get("c", "old")) == {"a": 2}
