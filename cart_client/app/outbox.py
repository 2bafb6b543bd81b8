"""The cart's outbox: events waiting for the edge, kept on disk so that an outage or a restart loses none.

Events are stored as serialized ``CartEvent`` messages keyed by their event id, and leave the outbox
only when the edge has acknowledged them. A batch whose answer was lost is sent again with the same
ids and the edge deduplicates it, so each event is counted exactly once. The outbox is bounded: when
a very long outage fills it, the oldest events go first (their tracking tokens expire anyway).
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from cartads.v1 import common_pb2

DEFAULT_MAX_EVENTS = 50_000


class EventOutbox(Protocol):
    """Events not yet acknowledged by the edge, oldest first."""

    def append(self, events: Sequence[common_pb2.CartEvent]) -> int:
        """Queue events (an id already queued is ignored); returns how many old events were dropped."""
        ...

    def peek(self, limit: int) -> list[common_pb2.CartEvent]:
        """Up to ``limit`` of the oldest queued events."""
        ...

    def ack(self, event_ids: Sequence[str]) -> None:
        """Forget events the edge acknowledged."""
        ...

    def depth(self) -> int:
        """How many events are queued."""
        ...

    def close(self) -> None:
        """Release the storage."""
        ...


class MemoryOutbox:
    """An outbox that lives as long as the process (tests, replays without a state directory)."""

    def __init__(self, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        self._max_events = max_events
        self._events: OrderedDict[str, common_pb2.CartEvent] = OrderedDict()

    def append(self, events: Sequence[common_pb2.CartEvent]) -> int:
        for event in events:
            self._events.setdefault(event.event_id, event)
        dropped = 0
        while len(self._events) > self._max_events:
            self._events.popitem(last=False)
            dropped += 1
        return dropped

    def peek(self, limit: int) -> list[common_pb2.CartEvent]:
        return [event for _, event in zip(range(limit), self._events.values(), strict=False)]

    def ack(self, event_ids: Sequence[str]) -> None:
        for event_id in event_ids:
            self._events.pop(event_id, None)

    def depth(self) -> int:
        return len(self._events)

    def close(self) -> None:
        self._events.clear()


class SqliteOutbox:
    """An outbox in one SQLite file under the cart's state directory.

    Each call is one short local transaction (well under a millisecond in WAL mode), so it runs on
    the event loop rather than paying a thread hop per event.
    """

    FILE_NAME = "outbox.sqlite3"

    def __init__(self, state_dir: Path, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / self.FILE_NAME
        self._max_events = max_events
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: an event the screen showed must survive the cart losing power right after.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, payload BLOB NOT NULL)"
        )

    def append(self, events: Sequence[common_pb2.CartEvent]) -> int:
        if not events:
            return 0
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR IGNORE INTO outbox (event_id, payload) VALUES (?, ?)",
                [(event.event_id, event.SerializeToString()) for event in events],
            )
            (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
            excess = max(0, int(count) - self._max_events)
            if excess:
                self._db.execute(
                    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)", (excess,)
                )
        return excess

    def peek(self, limit: int) -> list[common_pb2.CartEvent]:
        rows = self._db.execute("SELECT payload FROM outbox ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [common_pb2.CartEvent.FromString(payload) for (payload,) in rows]

    def ack(self, event_ids: Sequence[str]) -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM outbox WHERE event_id = ?", [(event_id,) for event_id in event_ids])

    def depth(self) -> int:
        (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    def close(self) -> None:
        self._db.close()


__all__ = ["DEFAULT_MAX_EVENTS", "EventOutbox", "MemoryOutbox", "SqliteOutbox"]
