"""The event journal in LMDB, opened with full durability: events are on disk before carts get an answer.

Each event gets a sequence number from a persisted counter in the same write transaction that stores
it, and the ids of recent events turn a re-sent event into a duplicate instead of a second journal
entry. Those ids are persisted in seq order (``id_by_seq``, appends only) and looked up in memory:
an LMDB index keyed by random-looking ids would dirty one page per event and make every durable
commit write megabytes.
Every method runs one whole transaction and never awaits; callers use ``asyncio.to_thread``.
``append_group`` commits the writes of many concurrent callers in one transaction (group commit,
see group_commit.py), together with the spend they add to their budget leases, so local spend
survives a restart exactly as the events do.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import lmdb
import structlog
from google.protobuf.message import DecodeError

from cartads.v1.common_pb2 import CartEvent
from cartads.v1.event_ingest_pb2 import JournaledEvent
from cartads.v1.request_counts_pb2 import RequestCounts
from edge_node.config import EdgeConfig
from edge_node.errors import JournalFullError
from edge_node.events.leases import LeaseCharge
from edge_node.lmdb_env import LmdbEnv

_log = structlog.get_logger("edge.journal")
_SEQ = struct.Struct(">Q")  # big-endian so LMDB's byte order is seq order
_NEXT_SEQ_KEY = b"next_seq"
# Lease spend value: milli-micros spent, and the lease's expiry (unix ms) for pruning.
_SPEND = struct.Struct(">qq")
# Spend of leases that expired this long ago is forgotten when the journal opens.
_SPEND_KEEP_MS = 7 * 24 * 3600 * 1000


def _spend_key(campaign_id: str, lease_id: str) -> bytes:
    # Cloud-made ids, both short (LMDB keys are capped at 511 bytes); NUL never occurs in them.
    return f"{campaign_id}\x00{lease_id}".encode()


@dataclass(frozen=True)
class JournalWrite:
    """One caller's events for a group commit; ``charge`` prices each event that is newly journaled."""

    events: Sequence[CartEvent]
    receive_time_unix_ms: int
    charge: Callable[[CartEvent], LeaseCharge | None] | None = None
    # The edge's request counts (edge_node/events/request_counts.py): then ``events`` is one id-only event.
    request_counts: RequestCounts | None = None
    # Invalid traffic: each invalid event's rule by event id (absent: valid), and the call's cart clock offset.
    invalid_rules: Mapping[str, int] = field(default_factory=dict)
    clock_offset_ms: int = 0
    # The credential the reporting cart authenticated with, stamped on each journaled event.
    cart_credential_id: str = ""


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
    # Lease spend added by the accepted events, committed with them.
    charges: tuple[LeaseCharge, ...] = field(default=())


class Journal:
    """Durable, ordered, deduplicated storage of cart events until the cloud acknowledges them."""

    def __init__(self, env: LmdbEnv, dedupe_window_events: int, hard_limit_events: int = 1_000_000) -> None:
        self._env = env
        self._dedupe_window = dedupe_window_events
        self.hard_limit_events = hard_limit_events
        with env.locked() as lmdb_env:
            self._events = lmdb_env.open_db(b"events")
            self._ids = lmdb_env.open_db(b"ids")
            self._id_by_seq = lmdb_env.open_db(b"id_by_seq")
            with lmdb_env.begin(write=True) as txn:
                # Older journals kept an LMDB index of ids; id_by_seq holds the same hashes.
                txn.drop(self._ids, delete=False)
                self._known_ids = {bytes(v) for v in txn.cursor(db=self._id_by_seq).iternext(keys=False, values=True)}
            self._meta = lmdb_env.open_db(b"meta")
            self._lease_spend = lmdb_env.open_db(b"lease_spend")
            # Entries that did not parse, set aside (by seq) so they never block the ones behind them.
            self._quarantine = lmdb_env.open_db(b"quarantine")
            # Cached so metrics and every GetAds (pushback) read them without a transaction.
            with lmdb_env.begin() as txn:
                self._depth = int(txn.stat(self._events)["entries"])
                self._quarantined = int(txn.stat(self._quarantine)["entries"])
            self._oldest_receive_unix_ms = self._read_oldest(lmdb_env)
            # Unsent events per cart (its share of the journal), rebuilt from what is on disk.
            self._unsent_by_cart: dict[str, int] = {}
            with lmdb_env.begin(db=self._events) as txn:
                for raw in txn.cursor().iternext(keys=False, values=True):
                    self._count_carts([raw], 1)

    @classmethod
    def open(cls, config: EdgeConfig) -> Journal:
        """Open (creating) the journal environment under ``data_dir/journal``."""
        env = LmdbEnv.open(
            Path(config.data_dir) / "journal",
            "journal",
            map_size_bytes=config.journal_map_size_bytes,
            max_readers=config.max_readers,
            max_dbs=6,
            # Full durability, said out loud: an event is on disk before its cart hears back.
            sync=True,
            metasync=True,
        )
        return cls(env, config.journal_dedupe_window_events, config.journal_hard_limit_events)

    def append(self, events: Sequence[CartEvent], receive_time_unix_ms: int) -> AppendResult:
        """Journal every event whose id is new, in order, in one durable write transaction."""
        result = self.append_group([JournalWrite(events, receive_time_unix_ms)])[0]
        if isinstance(result, JournalFullError):
            raise result
        return result

    def append_group(self, writes: Sequence[JournalWrite]) -> list[AppendResult | JournalFullError]:
        """Journal several callers' writes in one durable transaction; one result per write, in order.

        A write that would take the journal past its hard limit gets a JournalFullError and changes
        nothing; the others commit. If the map itself is full, the whole group fails with one.
        """
        results: list[AppendResult | JournalFullError] = []
        with self._env.locked() as env:
            depth = self._depth
            try:
                with env.begin(write=True) as txn:
                    raw_next = txn.get(_NEXT_SEQ_KEY, db=self._meta)
                    next_seq = _SEQ.unpack(raw_next)[0] if raw_next is not None else 1
                    spend: dict[bytes, tuple[int, int]] = {}
                    fresh: set[bytes] = set()
                    for write in writes:
                        if depth + len(write.events) > self.hard_limit_events:
                            results.append(
                                JournalFullError(
                                    f"journal holds {depth} unsent events, its limit is {self.hard_limit_events}"
                                )
                            )
                            continue
                        result = self._append_one(txn, write, next_seq, spend, fresh)
                        next_seq += len(result.accepted)
                        depth += len(result.accepted)
                        results.append(result)
                    txn.put(_NEXT_SEQ_KEY, _SEQ.pack(next_seq), db=self._meta)
                    for key, (millimicros, expire_ms) in spend.items():
                        txn.put(key, _SPEND.pack(millimicros, expire_ms), db=self._lease_spend)
            except lmdb.MapFullError as exc:
                raise JournalFullError(f"journal map is full ({env.info()['map_size']} bytes)") from exc
            self._known_ids |= fresh  # only once committed
            for done in results:
                if isinstance(done, AppendResult):
                    for journaled in done.accepted:
                        self._count_cart(journaled.event.cart_id, 1)
            was_empty, self._depth = self._depth == 0, depth
            if was_empty and depth:
                self._oldest_receive_unix_ms = self._read_oldest(env)
        return results

    def _append_one(
        self,
        txn: lmdb.Transaction,
        write: JournalWrite,
        next_seq: int,
        spend: dict[bytes, tuple[int, int]],
        fresh: set[bytes],
    ) -> AppendResult:
        accepted: list[JournaledEvent] = []
        charges: list[LeaseCharge] = []
        duplicates = 0
        for event in write.events:
            id_key = _id_key(event.event_id)
            if id_key in self._known_ids or id_key in fresh:
                duplicates += 1
                continue
            fresh.add(id_key)
            journaled = JournaledEvent(seq=next_seq, event=event)
            journaled.receive_time.FromMilliseconds(write.receive_time_unix_ms)
            if write.cart_credential_id:
                journaled.cart_credential_id = write.cart_credential_id
            if write.request_counts is not None:
                journaled.request_counts.CopyFrom(write.request_counts)
            journaled.invalid_rule = write.invalid_rules.get(event.event_id, 0)  # type: ignore[assignment]
            journaled.cart_clock_offset_ms = write.clock_offset_ms
            seq_key = _seq_key(next_seq)
            txn.put(seq_key, journaled.SerializeToString(deterministic=True), db=self._events)
            txn.put(seq_key, id_key, db=self._id_by_seq, append=True)
            accepted.append(journaled)
            next_seq += 1
            charge = write.charge(event) if write.charge is not None else None
            if charge is not None and charge.millimicros > 0:
                charges.append(charge)
                key = _spend_key(charge.campaign_id, charge.lease_id)
                if key not in spend:
                    raw = txn.get(key, db=self._lease_spend)
                    spend[key] = _SPEND.unpack(raw) if raw is not None else (0, charge.expire_unix_ms)
                total, expire_ms = spend[key]
                spend[key] = (total + charge.millimicros, max(expire_ms, charge.expire_unix_ms))
        return AppendResult(tuple(accepted), duplicates, tuple(charges))

    def lease_spend(self, campaign_id: str, lease_id: str) -> int:
        """Milli-micros journaled against one campaign's lease, as committed (survives restarts)."""
        with self._env.transaction() as txn:
            raw = txn.get(_spend_key(campaign_id, lease_id), db=self._lease_spend)
        return _SPEND.unpack(raw)[0] if raw is not None else 0

    def load_lease_spend(self, now_unix_ms: int) -> Mapping[tuple[str, str], int]:
        """Committed spend per (campaign, lease) in milli-micros; forgets leases long expired."""
        out: dict[tuple[str, str], int] = {}
        with self._env.transaction(write=True) as txn:
            cursor = txn.cursor(db=self._lease_spend)
            for key, raw in list(cursor.iternext()):
                millimicros, expire_ms = _SPEND.unpack(raw)
                if expire_ms and expire_ms + _SPEND_KEEP_MS < now_unix_ms:
                    txn.delete(key, db=self._lease_spend)
                    continue
                campaign_id, _, lease_id = bytes(key).decode().partition("\x00")
                out[(campaign_id, lease_id)] = millimicros
        return out

    def _read_oldest(self, env: lmdb.Environment) -> int:
        """Receive time (unix ms) of the oldest unacknowledged event, 0 when there is none (or it does not parse)."""
        with env.begin(db=self._events) as txn:
            cursor = txn.cursor()
            if not cursor.first():
                return 0
            event = JournaledEvent()
            try:
                event.ParseFromString(cursor.value())
            except DecodeError:
                return 0  # set aside by the next read_batch
            return int(event.receive_time.ToMilliseconds())

    def oldest_receive_unix_ms(self) -> int:
        """When the oldest event still waiting for the cloud was journaled (unix ms); 0 when none waits."""
        return self._oldest_receive_unix_ms if self._depth else 0

    def read_batch(self, max_events: int) -> list[JournaledEvent]:
        """Up to ``max_events`` unacknowledged events, lowest seq first.

        An entry that does not parse (a torn or corrupted write) would fail every upload after it
        forever: it is moved to the quarantine database, logged at error, and left out.
        """
        out: list[JournaledEvent] = []
        corrupt: list[tuple[bytes, bytes]] = []
        with self._env.transaction() as txn:
            for key, raw in txn.cursor(db=self._events):
                event = JournaledEvent()
                try:
                    event.ParseFromString(raw)
                except DecodeError:
                    corrupt.append((bytes(key), bytes(raw)))
                    continue
                out.append(event)
                if len(out) >= max_events:
                    break
        if corrupt:
            self._set_aside(corrupt)
        return out

    def _set_aside(self, entries: Sequence[tuple[bytes, bytes]]) -> None:
        moved = 0
        with self._env.locked() as env:
            with env.begin(write=True) as txn:
                for key, raw in entries:
                    if txn.delete(key, db=self._events):
                        txn.put(key, raw, db=self._quarantine)
                        moved += 1
            self._depth = max(0, self._depth - moved)
            self._quarantined += moved
            self._oldest_receive_unix_ms = self._read_oldest(env)
        for key, raw in entries:
            _log.error("journal entry does not parse; quarantined", seq=_SEQ.unpack(key)[0], size_bytes=len(raw))

    def quarantined(self) -> int:
        """How many journal entries were set aside because they did not parse."""
        return self._quarantined

    def acknowledge(self, acknowledged_seq: int) -> int:
        """Delete events with seq <= ``acknowledged_seq``; returns how many were deleted.

        Their ids stay in the dedupe index for a window of later events, so a cart that re-sends
        soon after an upload still gets "duplicate"; the cloud's dedupe covers anything older.
        """
        deleted = 0
        forgotten: list[bytes] = []
        forget_through = acknowledged_seq - self._dedupe_window
        with self._env.locked() as env:
            with env.begin(write=True) as txn:
                cursor = txn.cursor(db=self._events)
                while cursor.first() and _SEQ.unpack(cursor.key())[0] <= acknowledged_seq:
                    self._count_carts([cursor.value()], -1)
                    cursor.delete()
                    deleted += 1
                if forget_through > 0:
                    ids = txn.cursor(db=self._id_by_seq)
                    while ids.first() and _SEQ.unpack(ids.key())[0] <= forget_through:
                        forgotten.append(bytes(ids.value()))
                        ids.delete()
            self._known_ids.difference_update(forgotten)
            self._depth = max(0, self._depth - deleted)
            self._oldest_receive_unix_ms = self._read_oldest(env)
        return deleted

    def _count_carts(self, raws: Sequence[bytes], delta: int) -> None:
        for raw in raws:
            event = JournaledEvent()
            try:
                event.ParseFromString(raw)
            except DecodeError:
                continue  # quarantined by the next read_batch; it counts for no cart
            self._count_cart(event.event.cart_id, delta)

    def _count_cart(self, cart_id: str, delta: int) -> None:
        if not cart_id:
            return  # the edge's own records
        count = self._unsent_by_cart.get(cart_id, 0) + delta
        if count > 0:
            self._unsent_by_cart[cart_id] = count
        else:
            self._unsent_by_cart.pop(cart_id, None)

    def unsent_for(self, cart_id: str) -> int:
        """How many of ``cart_id``'s events wait for the cloud (its share of the journal)."""
        return self._unsent_by_cart.get(cart_id, 0)

    def depth(self) -> int:
        """How many events wait for the cloud's acknowledgement."""
        self._env.require()
        return self._depth

    def close(self) -> None:
        """Close the environment; later calls raise StoreClosedError."""
        self._env.close()
