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


def test_frequency_keeps_only_a_carts_recent_sessions() -> None:
    """A cart keeps its sessions_per_cart most recent sessions; its finished trips' state is dropped."""
    frequency = SessionFrequency(max_sessions=1000, sessions_per_cart=2)
    for trip in range(50):
        frequency.record("c", f"trip-{trip}", ["a"])
    frequency.record("other", "s", ["a"])
    assert len(frequency) == 3
    assert dict(frequency.get("c", "trip-49")) == {"a": 1}
    assert dict(frequency.get("c", "trip-48")) == {"a": 1}
    assert dict(frequency.get("c", "trip-47")) == {}
    assert dict(frequency.get("other", "s")) == {"a": 1}


def test_frequency_state_is_bounded_by_carts_not_trips() -> None:
    """A day of many trips over few carts holds carts x sessions_per_cart sessions, however many trips came."""
    frequency = SessionFrequency(max_sessions=100_000, sessions_per_cart=8)
    for trip in range(2_000):
        frequency.record_ads(f"cart-{trip % 10}", f"trip-{trip}", [("li", "cr", "ca")], trip)
    assert len(frequency) == 80
    assert frequency.carts() == 10


def test_frequency_global_eviction_forgets_the_cart_too() -> None:
    """A session evicted by max_sessions leaves no trace in its cart's list (a cart with none is forgotten)."""
    frequency = SessionFrequency(max_sessions=2, sessions_per_cart=8)
    frequency.record("a", "s1", ["x"])
    frequency.record("b", "s1", ["x"])
    frequency.record("c", "s1", ["x"])
    assert frequency.carts() == 2
    assert dict(frequency.get("a", "s1")) == {}
    frequency.record("a", "s2", ["x"])  # the cart comes back with a new trip: no stale bookkeeping
    assert dict(frequency.get("a", "s2")) == {"x": 1}


def test_frequency_touching_a_session_keeps_it_within_its_cart() -> None:
    """A session served again becomes its cart's most recent, so an older one is dropped first."""
    frequency = SessionFrequency(max_sessions=100, sessions_per_cart=2)
    frequency.record("c", "first", ["a"])
    frequency.record("c", "second", ["a"])
    frequency.record("c", "first", ["a"])
    frequency.record("c", "third", ["a"])
    assert dict(frequency.get("c", "first")) == {"a": 2}
    assert dict(frequency.get("c", "second")) == {}
