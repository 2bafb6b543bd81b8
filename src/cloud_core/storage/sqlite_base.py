"""One SQLite connection owned by one worker thread, so SQL never runs on the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from cloud_core.storage.migrations import apply_migrations
from cloud_core.timeutil import now_us

T = TypeVar("T")


class SqliteBase:
    """Owns the connection and the single worker thread every query runs on."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cloud-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    def _connect(self) -> None:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE in _tx), never implicit.
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before UploadEvents acknowledges it and the edge deletes the events;
        # NORMAL in WAL mode may lose the last commits on power loss.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        apply_migrations(conn, now_us())
        self._conn = conn

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("store is not open")
        return self._conn

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self) -> None:
        """Connect, switch to WAL and apply pending migrations."""
        await self._run(self._connect)

    async def close(self) -> None:
        """Close the connection and stop the worker thread; idempotent."""
        if self._closed:
            return
        self._closed = True

        def _close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await self._run(_close)
        self._executor.shutdown(wait=True)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that commits on success and rolls back on any error."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one snapshot."""
        conn = self.conn
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")
