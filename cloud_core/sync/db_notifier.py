"""Change notification across cloud replicas that share one database.

A change is signalled locally at once (InProcessNotifier) and recorded in the database: each store's
row of ``index_changes`` ('' = every store) counts its changes. Every replica watches those counters
and signals its own index streams when one grows:

- PostgreSQL: the recording transaction also sends ``NOTIFY cartads_index_changes``; each replica
  LISTENs on a dedicated connection (reconnecting when it drops), so a change made through one
  replica reaches the others' streams within milliseconds;
- on both engines the counters are also polled every ``poll_interval_s``: the safety net for a lost
  notification or connection, and the only path for SQLite (several processes on one file).

A change recorded here is recorded after its own commit, so a process that stops in between leaves
the other replicas to notice at their next periodic refresh. Writes that must not wait that long (a
cart's revocation) count their change in their own transaction instead (``storage.sql.rows.count_index_changes``);
the replicas see it as any other counter that grew.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping

import psycopg
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection

from cloud_core.storage import schema as t
from cloud_core.storage.replicas.index_versions import INDEX_STORED_CHANNEL
from cloud_core.storage.sql.database import POSTGRESQL, Database
from cloud_core.storage.sql.rows import INDEX_CHANGES_CHANNEL, count_index_changes
from cloud_core.sync.notifier import ChangeSubscription, InProcessNotifier
from cloud_core.sync.shared_indexes import StoredSignals

log = structlog.get_logger("cloud.notifier")

CHANNEL = INDEX_CHANGES_CHANNEL
ALL_STORES = ""
_RECONNECT_S = 1.0
_LISTEN_READY_S = 5.0


def changed_stores(seen: Mapping[str, int], now: Mapping[str, int]) -> set[str]:
    """Stores whose change counter grew (or appeared) between two reads of ``index_changes``."""
    return {store_id for store_id, generation in now.items() if generation > seen.get(store_id, 0)}


def _bump(conn: Connection, store_ids: list[str], postgresql: bool) -> dict[str, int]:
    """Count one change for each of ``store_ids``; the new counters."""
    if postgresql:
        # A lost counter only delays a notification until the next poll or refresh: no flush to disk.
        conn.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
    return count_index_changes(conn, store_ids)


def _read(conn: Connection) -> dict[str, int]:
    c = t.index_changes.c
    return {str(s): int(g) for s, g in conn.execute(sa.select(c.store_id, c.generation))}


class DatabaseNotifier:
    """A ChangeNotifier shared by every replica on ``db``; ``start()`` it, ``stop()`` it when done."""

    def __init__(self, db: Database, poll_interval_s: float = 0.5) -> None:
        # Its own thread and connection: recording and polling never hold up the store's queries (on
        # SQLite those share one thread, and an index build right after a change would wait for them).
        self._db = db.sibling()
        self._poll_interval_s = poll_interval_s
        self._local = InProcessNotifier()
        self._seen: dict[str, int] = {}
        self._pending: set[str] = set()
        self._wake = asyncio.Event()
        # A poll between recording our change and noting its counter would take it for another replica's.
        self._counters_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        # Set while a LISTEN connection is up (PostgreSQL only).
        self.listening = asyncio.Event()
        # Stores whose compiled index another replica stored (PostgreSQL NOTIFY): wakes their waiters.
        self.stored = StoredSignals()

    # ---- ChangeNotifier ----

    def notify(self, store_ids: Iterable[str] | None = None) -> None:
        ids = None if store_ids is None else list(store_ids)
        self._local.notify(ids)
        self._pending.update([ALL_STORES] if ids is None else ids)
        self._wake.set()

    def subscribe(self, store_id: str) -> ChangeSubscription:
        return self._local.subscribe(store_id)

    def generation(self, store_id: str) -> int:
        return self._local.generation(store_id)

    # ---- lifecycle ----

    async def start(self) -> None:
        """Read the current counters (so old changes are not replayed), then watch and record."""
        self._seen = await self._db.read(_read)
        self._tasks = [asyncio.create_task(self._record_loop()), asyncio.create_task(self._poll_loop())]
        if self._db.dialect == POSTGRESQL:
            self._tasks.append(asyncio.create_task(self._listen_loop()))
            # Serve only once other replicas' changes are heard (the poll covers a slow or failed LISTEN).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.listening.wait(), _LISTEN_READY_S)

    async def stop(self) -> None:
        """Record what is still pending (a last try), then stop watching; idempotent."""
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        self._stopping = True
        self._wake.set()
        recorder, *watchers = tasks
        for task in watchers:
            task.cancel()
        await asyncio.gather(recorder, *watchers, return_exceptions=True)
        await self._db.close()

    # ---- recording this replica's changes ----

    async def flush(self) -> None:
        """Record the changes not yet recorded now (the background loop does so continuously); on
        return every change notified before the call is counted in the database."""
        await self._record_pending()
        # A record the loop took over before this call is committed too (the lock is FIFO, and the
        # loop takes it in the step it takes the pending stores).
        async with self._counters_lock:
            pass

    async def _record_pending(self) -> None:
        if not self._pending:
            return
        ids, self._pending = sorted(self._pending), set()
        async with self._counters_lock:
            try:
                counters = await self._db.write(lambda conn: _bump(conn, ids, self._db.dialect == POSTGRESQL))
            except Exception:
                self._pending.update(ids)
                raise
            for store_id, generation in counters.items():
                # Our own change is already signalled locally; a counter that also holds another
                # replica's change is left for the poll to signal.
                if generation == self._seen.get(store_id, 0) + 1:
                    self._seen[store_id] = generation

    async def _record_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._record_pending()
            except Exception as exc:
                log.warning("index_change_record_failed", error=str(exc))
                if self._stopping:
                    return
                await asyncio.sleep(_RECONNECT_S)
                self._wake.set()
            if self._stopping and not self._pending:
                return

    # ---- watching the other replicas' changes ----

    async def poll(self) -> None:
        """Signal the stores whose counters grew since the last read."""
        async with self._counters_lock:
            now = await self._db.read(_read)
            changed = changed_stores(self._seen, now)
            self._seen.update({s: now[s] for s in changed})
        if ALL_STORES in changed:
            self._local.notify(None)
        elif changed:
            self._local.notify(changed)
        if changed:
            log.debug("index_changes_seen", stores=sorted(changed))

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval_s)
            try:
                await self.poll()
            except Exception as exc:
                log.warning("index_change_poll_failed", error=str(exc))

    async def _listen_loop(self) -> None:
        dsn = self._db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    await conn.execute(f"LISTEN {INDEX_STORED_CHANNEL}")
                    self.listening.set()
                    # Changes made while the connection was down are caught up now.
                    await self.poll()
                    async for notice in conn.notifies():
                        if notice.channel == INDEX_STORED_CHANNEL:
                            self.stored.signal(notice.payload.split(","))
                        else:
                            await self.poll()
            except (psycopg.Error, OSError, sa.exc.SQLAlchemyError) as exc:
                log.warning("index_change_listen_lost", error=str(exc))
            self.listening.clear()
            await asyncio.sleep(_RECONNECT_S)
