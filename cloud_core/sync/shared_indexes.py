"""Index versions shared by the cloud replicas: a store is compiled by one replica at a time, and
every replica serves the version stored in the database while it is current.

``SharedIndexes.resolve`` gives each asked store its current version no older than asked:

1. this replica's changes are counted in the database first (``flush``), then each store's change
   counter and stored head are read in one snapshot; a head whose generation is at least the
   counter (and young enough) is current, and is served, not compiled (loaded only when a stream
   has to push it);
2. for the others the replica takes the compile leases it can (a lease row with an expiry, renewed
   while the compile runs), reads the heads once more (another replica may have stored them just
   before its lease was released), compiles what is left in one batch, stores the versions with the
   counters read in step 1 and releases the leases in the same transaction;
3. stores whose lease another replica holds are waited for: woken when it stores them (PostgreSQL
   NOTIFY, ``StoredSignals``) or after ``wait_poll_s``, then back to step 1. A lease whose holder
   died expires after ``lease_s`` and is taken over.

A counter is read before the compile reads its inputs, so a change the compile may have missed has
already made the stored generation stale: the next ask compiles again, never serves it as current.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from cartads.time_units import now_us
from cartads.v1 import index_pb2
from cloud_core.storage.protocol import IndexHead, IndexVersionStore, StoredIndex

log = structlog.get_logger("cloud.index_sync")


class BatchBuilder(Protocol):
    async def build_many(self, store_ids: Sequence[str]) -> dict[str, index_pb2.StoreIndex]: ...


@dataclass(frozen=True)
class SharingSettings:
    """How replicas divide compiles; see CloudConfig."""

    replica_id: str
    # A compile lease lasts this long unless renewed (it is, every third of it, while compiling).
    lease_s: float = 10.0
    # A replica waiting for another's compile reads the heads again this often (the safety net for
    # a lost notification, and the only path on SQLite).
    wait_poll_s: float = 0.25
    # Versions of each store kept in the database: deltas are made from these.
    keep_versions: int = 4
    # Stores compiled per build_many call: the indexes of one batch are in memory at once.
    compile_batch_stores: int = 50


class StoredSignals:
    """Wakes the replicas' waiters when a store's head is stored (by this replica or, through
    PostgreSQL NOTIFY, another)."""

    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    def signal(self, store_ids: Iterable[str]) -> None:
        for store_id in store_ids:
            for event in self._waiters.get(store_id, ()):
                event.set()

    async def wait(self, store_ids: Iterable[str], timeout_s: float) -> bool:
        """Until one of ``store_ids`` is stored (True) or ``timeout_s`` passes (False)."""
        event = asyncio.Event()
        ids = list(store_ids)
        for store_id in ids:
            self._waiters[store_id].add(event)
        try:
            async with asyncio.timeout(timeout_s):
                await event.wait()
            return True
        except TimeoutError:
            return False
        finally:
            for store_id in ids:
                waiters = self._waiters.get(store_id)
                if waiters is not None:
                    waiters.discard(event)
                    if not waiters:
                        del self._waiters[store_id]


def is_current(head: IndexHead | None, generation: int, now_us: int, max_age_s: float) -> bool:
    """Whether a stored head may be served: compiled after the store's last counted change, and young enough."""
    if head is None or head.generation < generation:
        return False
    return max_age_s == float("inf") or now_us - head.compiled_us <= max_age_s * 1_000_000


def parse_index(data: bytes) -> index_pb2.StoreIndex:
    index = index_pb2.StoreIndex()
    index.ParseFromString(data)
    return index


class SharedIndexes:
    """Resolves stores' current versions through the shared index store; also the IndexCache's VersionSource.

    Results are versions, not indexes: an edge that already holds the version needs nothing loaded,
    and a compile of many stores keeps at most ``compile_batch_stores`` indexes in memory at once.
    """

    def __init__(
        self,
        store: IndexVersionStore,
        builder: BatchBuilder,
        *,
        flush: Callable[[], Awaitable[None]],
        signals: StoredSignals,
        settings: SharingSettings,
        clock_us: Callable[[], int] = now_us,
    ) -> None:
        self._store = store
        self._builder = builder
        self._flush = flush
        self._signals = signals
        self._settings = settings
        self._clock_us = clock_us
        # Offered each index this replica compiles (the IndexCache keeps what its budget allows).
        self.on_compiled: Callable[[str, index_pb2.StoreIndex], None] | None = None
        # What this replica did, for tests and benchmarks: stores compiled here, and served from stored heads.
        self.compiled = 0
        self.loaded = 0

    async def load(self, store_id: str, version: str) -> index_pb2.StoreIndex | None:
        data = await self._store.load(store_id, version)
        return None if data is None else await asyncio.to_thread(parse_index, data)

    async def resolve(self, wanted: Mapping[str, float]) -> dict[str, str]:
        """Each existing store of ``wanted`` (store id -> the oldest acceptable age in seconds) with its
        current version, stored in the database."""
        pending = dict(wanted)
        out: dict[str, str] = {}
        while pending:
            await self._flush()
            generations, heads = await self._store.generations_and_heads(list(pending))
            self._take_current(pending, generations, heads, out)
            if not pending:
                break
            won = await self._store.try_leases(
                list(pending), self._settings.replica_id, self._clock_us(), int(self._settings.lease_s * 1e6)
            )
            if won:
                # Stored by another replica between the read above and its lease's release.
                _, heads = await self._store.generations_and_heads(sorted(won))
                mine = {s: pending[s] for s in won}
                self._take_current(mine, generations, heads, out)
                for store_id in won - mine.keys():
                    del pending[store_id]
                if won - mine.keys():
                    await self._store.release_leases(sorted(won - mine.keys()), self._settings.replica_id)
                if mine:
                    out.update(await self._compile(sorted(mine), generations))
                    for store_id in mine:
                        del pending[store_id]
            if pending and not won:
                # Never longer than a lease: a holder that died is taken over when its lease expires.
                await self._signals.wait(pending, min(self._settings.wait_poll_s, self._settings.lease_s))
        return out

    def _take_current(
        self,
        pending: dict[str, float],
        generations: Mapping[str, int],
        heads: Mapping[str, IndexHead],
        out: dict[str, str],
    ) -> None:
        now = self._clock_us()
        for store_id in [s for s in pending if is_current(heads.get(s), generations.get(s, 0), now, pending[s])]:
            out[store_id] = heads[store_id].version
            del pending[store_id]
            self.loaded += 1

    async def _compile(self, store_ids: list[str], generations: Mapping[str, int]) -> dict[str, str]:
        """Compile and store ``store_ids`` (leases held), a batch at a time; their versions."""
        holder = self._settings.replica_id
        renewal = asyncio.create_task(self._renew(store_ids))
        out: dict[str, str] = {}
        started = time.monotonic()
        try:
            batch = max(1, self._settings.compile_batch_stores)
            for i in range(0, len(store_ids), batch):
                chunk = store_ids[i : i + batch]
                out.update(await self._compile_batch(chunk, generations))
        except BaseException:
            renewal.cancel()
            with contextlib.suppress(Exception):
                await asyncio.shield(self._store.release_leases([s for s in store_ids if s not in out], holder))
            raise
        renewal.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewal
        log.debug("indexes_compiled", stores=len(out), seconds=round(time.monotonic() - started, 3))
        return out

    async def _compile_batch(self, store_ids: list[str], generations: Mapping[str, int]) -> dict[str, str]:
        holder = self._settings.replica_id
        built = await self._builder.build_many(store_ids)
        compiled_us = self._clock_us()
        stored = await asyncio.to_thread(
            lambda: [
                StoredIndex(
                    s, index.version, generations.get(s, 0), compiled_us, index.SerializeToString(deterministic=True)
                )
                for s, index in built.items()
            ]
        )
        await self._store.save(stored, holder, self._settings.keep_versions)
        gone = sorted(set(store_ids) - built.keys())
        if gone:
            await self._store.release_leases(gone, holder)
        self._signals.signal(store_ids)
        self.compiled += len(built)
        if self.on_compiled is not None:
            for store_id, index in built.items():
                self.on_compiled(store_id, index)
        return {s: index.version for s, index in built.items()}

    async def _renew(self, store_ids: list[str]) -> None:
        every_s = self._settings.lease_s / 3
        while True:
            await asyncio.sleep(every_s)
            try:
                await self._store.try_leases(
                    store_ids, self._settings.replica_id, self._clock_us(), int(self._settings.lease_s * 1e6)
                )
            except Exception as exc:  # the compile goes on; at worst another replica compiles too
                log.warning("compile_lease_renewal_failed", error=str(exc))


class CoalescingResolver:
    """``build(store_id, max_age_s)`` calls made in the same turn of the event loop are resolved as
    one batch (one read of the heads, one lease write, batched compiles); each gets its store's
    current version, None when the store does not exist."""

    def __init__(self, resolve: Callable[[Mapping[str, float]], Awaitable[dict[str, str]]]) -> None:
        self._resolve = resolve
        self._pending: dict[str, tuple[float, list[asyncio.Future[str | None]]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def build(self, store_id: str, max_age_s: float = float("inf")) -> str | None:
        loop = asyncio.get_running_loop()
        if not self._pending:
            loop.call_soon(self._flush)
        future: asyncio.Future[str | None] = loop.create_future()
        age, futures = self._pending.get(store_id, (max_age_s, []))
        futures.append(future)
        self._pending[store_id] = (min(age, max_age_s), futures)
        return await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        task = asyncio.get_running_loop().create_task(self._run(pending))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, pending: dict[str, tuple[float, list[asyncio.Future[str | None]]]]) -> None:
        try:
            versions = await self._resolve({s: age for s, (age, _) in pending.items()})
        except BaseException as exc:  # every waiter of the batch gets the failure
            for _, futures in pending.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
                        future.exception()
            if not isinstance(exc, Exception):
                raise
            return
        for store_id, (_, futures) in pending.items():
            for future in futures:
                if not future.done():
                    future.set_result(versions.get(store_id))
