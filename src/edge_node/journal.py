"""The event journal in LMDB, opened with full durability: events are on disk before carts get an answer.

Each event gets a sequence number from a persisted counter in the same write transaction that stores
it, and an event-id index turns a re-sent event into a duplicate instead of a second journal entry.
Every method runs one whole transaction and never awaits; callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import lmdb

from cartads.v1.common_pb2 import CartEvent
from cartads.v1.event_ingest_pb2 import JournaledEvent
from edge_node.config import EdgeConfig
from edge_node.errors import StoreClosedError

_SEQ = struct.Struct(">Q")  # big-endian so LMDB's byte order is seq order
_NEXT_SEQ_KEY = b"next_seq"


def _seq_key(seq: int) -> bytes:
    return _SEQ.pack(seq)


def _id_key(event_id: str) -> bytes:
    # Fixed-size keys: LMDB caps keys at 511 bytes and event ids are client-made.
    return hashlib.sha256(event_id.encode()).digest()


@dataclass(frozen=True)
class AppendResult:
    """What one append did: the events newly journaled (with their seq) and how many were duplicates."""

    accepted: tuple[JournaledEvent, ...]
    duplicate_count: int


class Journal:
    """Durable, ordered, deduplicated storage of cart events until the cloud acknowledges them."""

    def __init__(self, env: lmdb.Environment, dedupe_window_events: int) -> None:
        self._env: lmdb.Environment | None = env
        self._events = env.open_db(b"events")
        self._ids = env.open_db(b"ids")
        self._id_by_seq = env.open_db(b"id_by_seq")
        self._meta = env.open_db(b"meta")
        self._dedupe_window = dedupe_window_events
        self._lock = threading.Lock()

    @classmethod
    def open(cls, config: EdgeConfig) -> Journal:
        """Open (creating) the journal environment under ``data_dir/journal``."""
        path = Path(config.data_dir) / "journal"
        path.mkdir(parents=True, exist_ok=True)
        env = lmdb.open(
            str(path),
            map_size=config.journal_map_size_bytes,
            max_readers=config.max_readers,
            max_dbs=4,
            sync=True,
            metasync=True,
        )
        env.reader_check()
        return cls(env, config.journal_dedupe_window_events)

    def _require_env(self) -> lmdb.Environment:
        if self._env is None:
            raise StoreClosedError("journal is closed")
        return self._env

    def append(self, events: Sequence[CartEvent], receive_time_unix_ms: int) -> AppendResult:
        """Journal every event whose id is new, in order, in one durable write transaction."""
        accepted: list[JournaledEvent] = []
        duplicates = 0
        with self._lock:
            env = self._require_env()
            with env.begin(write=True) as txn:
                raw_next = txn.get(_NEXT_SEQ_KEY, db=self._meta)
                next_seq = _SEQ.unpack(raw_next)[0] if raw_next is not None else 1
                for event in events:
                    id_key = _id_key(event.event_id)
                    if txn.get(id_key, db=self._ids) is not None:
                        duplicates += 1
                        continue
                    journaled = JournaledEvent(seq=next_seq, event=event)
                    journaled.receive_time.FromMilliseconds(receive_time_unix_ms)
                    seq_key = _seq_key(next_seq)
                    txn.put(seq_key, journaled.SerializeToString(deterministic=True), db=self._events)
                    txn.put(id_key, seq_key, db=self._ids)
                    txn.put(seq_key, id_key, db=self._id_by_seq)
                    accepted.append(journaled)
                    next_seq += 1
                txn.put(_NEXT_SEQ_KEY, _SEQ.pack(next_seq), db=self._meta)
        return AppendResult(tuple(accepted), duplicates)

    def read_batch(self, max_events: int) -> list[JournaledEvent]:
        """Up to ``max_events`` unacknowledged events, lowest seq first."""
        out: list[JournaledEvent] = []
        with self._lock:
            env = self._require_env()
            with env.begin(db=self._events) as txn:
                for _, raw in txn.cursor():
                    event = JournaledEvent()
                    event.ParseFromString(raw)
                    out.append(event)
                    if len(out) >= max_events:
                        break
        return out

    def acknowledge(self, acknowledged_seq: int) -> int:
        """Delete events with seq <= ``acknowledged_seq``; returns how many were deleted.

        Their ids stay in the dedupe index for a window of later events, so a cart that re-sends
        soon after an upload still gets "duplicate"; the cloud's dedupe covers anything older.
        """
        deleted = 0
        forget_through = acknowledged_seq - self._dedupe_window
        with self._lock:
            env = self._require_env()
            with env.begin(write=True) as txn:
                cursor = txn.cursor(db=self._events)
                while cursor.first() and _SEQ.unpack(cursor.key())[0] <= acknowledged_seq:
                    cursor.delete()
                    deleted += 1
                if forget_through > 0:
                    ids = txn.cursor(db=self._id_by_seq)
                    while ids.first() and _SEQ.unpack(ids.key())[0] <= forget_through:
                        txn.delete(ids.value(), db=self._ids)
                        ids.delete()
        return deleted

    def depth(self) -> int:
        """How many events wait for the cloud's acknowledgement."""
        with self._lock:
            env = self._require_env()
            with env.begin() as txn:
                return int(txn.stat(self._events)["entries"])

    def close(self) -> None:
        """Close the environment; later calls raise StoreClosedError."""
        with self._lock:
            if self._env is not None:
                self._env.close()
                self._env = None
