"""One database for the cloud: SQLite (a file) or PostgreSQL (a DSN), used through SQLAlchemy Core.

SQL never runs on the event loop: ``Database.write``/``read`` run a function on a worker thread
inside one transaction. Only this package (``storage.sql``) looks at the dialect.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from google.protobuf.message import DecodeError
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from cartads.ops.logs import clip

T = TypeVar("T")
_log = structlog.get_logger("cloud.storage")

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
# PostgreSQL SQLSTATEs after which the whole transaction can simply run again.
_RETRYABLE_PG = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
_WRITE_ATTEMPTS = 5
_PG_WORKERS = 4


class DatabaseOpenError(Exception):
    """The database could not be opened (bad path or DSN, server down, migration failed)."""


class DatabaseClosedError(RuntimeError):
    """A query was asked of a Database already closed (the process is stopping)."""


def database_url(db: str) -> URL:
    """A path or ``sqlite:///...`` → SQLite; ``postgresql://`` / ``postgres://`` → psycopg 3."""
    if db.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        rest = db.split("://", 1)[1]
        try:
            return make_url(f"postgresql+psycopg://{rest}")
        except ArgumentError as exc:
            raise DatabaseOpenError(f"bad PostgreSQL DSN {redact(db)!r}: {exc}") from None
    if db.startswith("sqlite:"):
        try:
            return make_url(db)
        except ArgumentError as exc:
            raise DatabaseOpenError(f"bad SQLite URL {db!r}: {exc}") from None
    if "://" in db:
        raise DatabaseOpenError(f"unsupported database {redact(db)!r}: use a file path or postgresql://...")
    return URL.create("sqlite", database=db)


def redact(db: str) -> str:
    """``db`` with any password hidden, for messages and logs."""
    if "://" not in db:
        return db
    try:
        return make_url(db).render_as_string(hide_password=True)
    except ArgumentError:
        return db.split("://", 1)[0] + "://..."


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, *, durable: bool = True) -> None:
    # Transactions are explicit (BEGIN in _sqlite_begin), never pysqlite's implicit ones.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before UploadEvents acknowledges it and the edge deletes the events;
    # NORMAL in WAL mode may lose the last commits on power loss (no fsync per commit).
    cur.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front, so a write transaction never fails half-way with
    # SQLITE_BUSY when it upgrades from a read; reads take a deferred (snapshot) transaction.
    write = conn.get_execution_options().get("cartads_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_engine(url: URL, *, durable: bool = True) -> Engine:
    """An Engine with this project's connection settings for ``url``'s dialect.

    ``durable=False`` (SQLite) commits without waiting for the disk: for data whose last commits may
    be lost on power failure, such as change counters (a lost one only delays a notification).
    """
    if url.get_backend_name() == SQLITE:
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30.0})
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, durable=durable))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(
        url,
        pool_size=_PG_WORKERS,
        max_overflow=2,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )


# Failures of the data written, not of the database: the same write fails the same way every time.
_DATA_ERRORS = (sa_exc.DataError, sa_exc.IntegrityError, OverflowError, ValueError, TypeError, DecodeError)
# The database is away or busy (a lock, a lost connection, a pool exhausted, a replica shutting down):
# the same write may well succeed later.
_TRANSIENT_ERRORS = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    ConnectionError,
)


def is_transient_error(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot write now, rather than that this write is wrong."""
    if isinstance(error, (*_TRANSIENT_ERRORS, DatabaseClosedError)):
        return True
    return isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated


def is_data_error(error: BaseException) -> bool:
    """Whether ``error`` is a refusal of the data written (an overflow, a value no column holds)."""
    if is_transient_error(error):
        return False
    if isinstance(error, _DATA_ERRORS):
        return True
    return isinstance(error, sa_exc.StatementError) and isinstance(error.orig, _DATA_ERRORS)


def failure_text(error: BaseException) -> str:
    """``Class: first line of the message``, short and free of what PostgreSQL text cannot hold."""
    return clip(f"{type(error).__name__}: {first_line(error)}", 200).replace("\x00", "\\0")


def _retryable(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE_PG


class Database:
    """Owns the Engine and the worker thread(s) every query runs on."""

    def __init__(self, engine: Engine, *, owns_engine: bool = True) -> None:
        self.engine = engine
        self._owns_engine = owns_engine
        self.dialect: str = engine.dialect.name
        # SQLite allows one writer at a time: one thread keeps it simple and lock-free. PostgreSQL
        # takes several concurrent transactions.
        workers = 1 if self.dialect == SQLITE else _PG_WORKERS
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"cloud-{self.dialect}")
        self._closed = False

    @classmethod
    async def open(cls, db: str) -> Database:
        """Open ``db`` (a path or DSN) and migrate it to the newest schema; DatabaseOpenError if impossible."""
        engine = create_engine(database_url(db))
        database = cls(engine)
        try:
            await database.run(_migrate, engine)
        except BaseException:
            await database.close()
            raise
        return database

    def sibling(self) -> Database:
        """Another Database on this database with its own worker thread and connection, not durable.

        For background bookkeeping (change counters) that must not queue behind, or delay, this one's
        queries on SQLite's single thread, nor wait for the disk. On PostgreSQL it shares the engine
        (closing it leaves the engine to this Database); on SQLite it has its own, without fsync.
        """
        if self.dialect == SQLITE:
            return Database(create_engine(self.engine.url, durable=False))
        return Database(self.engine, owns_engine=False)

    @property
    def closed(self) -> bool:
        return self._closed

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the worker thread (no transaction of its own)."""
        if self._closed:
            raise DatabaseClosedError("database is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` inside one write transaction; committed on return, rolled back on any exception."""
        return await self.run(self.write_sync, fn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` inside one read-only transaction that sees one snapshot."""
        return await self.run(self.read_sync, fn)

    def write_sync(self, fn: Callable[[Connection], T]) -> T:
        """``write`` for code already on a worker thread (or a script)."""
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                with self.engine.connect() as conn:
                    if self.dialect == SQLITE:
                        conn.execution_options(cartads_write=True)
                    else:
                        conn.execution_options(isolation_level="READ COMMITTED")
                    with conn.begin():
                        return fn(conn)
            except DBAPIError as exc:
                # Only PostgreSQL deadlocks/serialization failures, and nothing was committed.
                if attempt + 1 == _WRITE_ATTEMPTS or not _retryable(exc):
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def read_sync(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            if self.dialect == POSTGRESQL:
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                return fn(conn)

    async def close(self) -> None:
        """Dispose of the connections and stop the worker thread(s); idempotent."""
        if self._closed:
            return
        self._closed = True
        # Work still running (a cancelled caller's query) finishes and returns its connection first,
        # so dispose closes every connection instead of leaving one to the garbage collector.
        await asyncio.to_thread(self._executor.shutdown, True)
        if self._owns_engine:
            await asyncio.to_thread(self.engine.dispose)


def _migrate(engine: Engine) -> None:
    from cloud_core.storage.sql.migrations import upgrade_engine

    path = engine.url.database
    if engine.dialect.name == SQLITE and path and path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        upgrade_engine(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseOpenError(f"cannot open database {redact(str(engine.url))}: {first_line(exc)}") from None


def first_line(exc: BaseException) -> str:
    """The first line of the driver's message (SQLAlchemy appends SQL and a help link)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__
