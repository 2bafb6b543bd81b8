"""Heartbeats: a replica records itself alive, sweeps silent replicas' edges, and after a gap in its
own heartbeats re-asserts the streams it still holds."""

from __future__ import annotations

from collections.abc import Sequence

from cloud_core.sync.heartbeats import Heartbeats, HeartbeatSettings

S = 1_000_000


class FakeReplicas:
    """An in-memory ReplicaStore that records what it was asked."""

    def __init__(self) -> None:
        self.beats: dict[str, int] = {}
        self.reconnected: list[tuple[str, list[tuple[str, str]]]] = []
        self.sweeps: list[tuple[int, int]] = []
        self.forgotten: list[str] = []

    async def beat(self, replica_id: str, started_us: int, now_us: int) -> int:
        previous = self.beats.get(replica_id, 0)
        self.beats[replica_id] = now_us
        return previous

    async def disconnect_silent(self, now_us: int, timeout_us: int) -> int:
        self.sweeps.append((now_us, timeout_us))
        return 0

    async def reconnect(self, replica_id: str, edges: Sequence[tuple[str, str]]) -> None:
        self.reconnected.append((replica_id, list(edges)))

    async def forget(self, replica_id: str) -> None:
        self.forgotten.append(replica_id)


class Clock:
    def __init__(self) -> None:
        self.now_us = 100 * S

    def __call__(self) -> int:
        return self.now_us


def _heartbeats(store: FakeReplicas, clock: Clock) -> Heartbeats:
    settings = HeartbeatSettings("r1", interval_s=3, timeout_s=15)
    return Heartbeats(store, settings, lambda: {("s1", "e1")}, clock_us=clock)


async def test_each_beat_records_and_sweeps_with_the_timeout() -> None:
    """A beat records the replica's time and sweeps edges of replicas silent for the timeout."""
    store, clock = FakeReplicas(), Clock()
    await _heartbeats(store, clock).beat()
    assert store.beats == {"r1": 100 * S}
    assert store.sweeps == [(100 * S, 15 * S)]


async def test_regular_beats_do_not_reassert_streams() -> None:
    """Beats closer together than the timeout leave the edge rows alone."""
    store, clock = FakeReplicas(), Clock()
    heartbeats = _heartbeats(store, clock)
    await heartbeats.beat()
    clock.now_us += 3 * S
    await heartbeats.beat()
    assert store.reconnected == []


async def test_a_gap_longer_than_the_timeout_reasserts_live_streams() -> None:
    """After its own heartbeats stopped past the timeout, a replica marks its live streams connected again."""
    store, clock = FakeReplicas(), Clock()
    heartbeats = _heartbeats(store, clock)
    await heartbeats.beat()
    clock.now_us += 16 * S
    await heartbeats.beat()
    assert store.reconnected == [("r1", [("s1", "e1")])]


async def test_a_clean_stop_forgets_the_replica() -> None:
    """Stopping removes the replica's heartbeat; stopping twice is harmless."""
    store, clock = FakeReplicas(), Clock()
    heartbeats = _heartbeats(store, clock)
    await heartbeats.start()
    await heartbeats.stop()
    await heartbeats.stop()
    assert store.forgotten == ["r1"]
