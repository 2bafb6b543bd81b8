"""One database for the cloud: SQLite (a file) or PostgreSQL (a DSN), used through SQLAlchemy Core.

SQL never runs on the event loop: ``Database.write``/``read`` run a function on a worker thread
inside one transaction. This module is the only place that looks at the dialect.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from google.protobuf.message import DecodeError
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from cartads.bounds import ROLLUP_SATURATION
from cartads.ops.logs import clip
from cloud_core.storage.schema import index_changes

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


def insert(conn: Connection, table: sa.Table) -> Any:
    """An INSERT for ``conn``'s dialect, so callers can add ``on_conflict_do_nothing``/``_do_update``."""
    if conn.dialect.name == POSTGRESQL:
        return postgresql.insert(table)
    return sqlite.insert(table)


def _saturation(column: sa.Column[Any]) -> int:
    """Where adds to ``column`` stop: far enough below its type's maximum that no add overflows it."""
    return ROLLUP_SATURATION if isinstance(column.type, sa.BigInteger) else 2**30


@functools.lru_cache(maxsize=64)
def _adding_upsert(dialect: str, table: sa.Table, key: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    # Built once per table and dialect: rebuilding it (``excluded`` proxies, cache key) per upload
    # costs more than executing it.
    stmt = postgresql.insert(table) if dialect == POSTGRESQL else sqlite.insert(table)
    adding = {}
    full = []
    for name in columns:
        current, added = table.c[name], stmt.excluded[name]
        cap = sa.literal_column(str(_saturation(current)), current.type)
        # Saturate rather than overflow: SQLite would turn the sum into a REAL without a word,
        # PostgreSQL would fail the whole ingest transaction.
        adding[name] = sa.case((current > cap - added, cap), else_=current + added)
        full.append(current >= cap)
    upsert = stmt.on_conflict_do_update(index_elements=list(key), set_=adding)
    return upsert.returning(*(table.c[k] for k in key), sa.or_(*full).label("saturated"))


def upsert_adding(
    conn: Connection, table: sa.Table, key: Sequence[str], columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Upsert ``rows``, adding their ``columns`` to an existing row's (atomic ``x = x + excluded.x``,
    never read-then-write); in key order, so concurrent transactions lock rows in the same order.

    A sum that would pass ``ROLLUP_SATURATION`` stays there, and the row is logged at error
    (``rollup_saturated``): with every input bounded it takes billions of maximal events in one row.
    """
    if rows:
        stmt = _adding_upsert(conn.dialect.name, table, tuple(key), tuple(columns))
        result = conn.execute(stmt, sorted(rows, key=lambda r: tuple(str(r[k]) for k in key)))
        saturated = [tuple(row[: len(key)]) for row in result if row[-1]]
        if saturated:
            _log.error("rollup_saturated", table=table.name, key=list(key), rows=saturated[:10], count=len(saturated))


# Keeps each IN (...) list well below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
IN_CHUNK = 500


def chunks(values: Sequence[str], size: int = IN_CHUNK) -> Iterator[list[str]]:
    """``values`` without duplicates, sorted, in lists of at most ``size``."""
    unique = sorted(set(values))
    for i in range(0, len(unique), size):
        yield unique[i : i + size]


# Replicas LISTEN on it (PostgreSQL): a committed change to ``index_changes`` is announced here.
INDEX_CHANGES_CHANNEL = "cartads_index_changes"


def count_index_changes(conn: Connection, store_ids: Sequence[str]) -> dict[str, int]:
    """Count one index-affecting change for each of ``store_ids`` ('' = every store) in ``conn``'s
    transaction; the new counters.

    Every replica watches these counters (sync/db_notifier.py): counted in the transaction of the
    change itself, a change reaches every replica's index streams even when the process that made
    it stops right after committing. On PostgreSQL the replicas are also told at commit (NOTIFY).
    """
    table = index_changes
    out: dict[str, int] = {}
    # In key order, so that concurrent transactions lock the rows in the same order (no deadlocks).
    for store_id in sorted(set(store_ids)):
        stmt = insert(conn, table).values(store_id=store_id, generation=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["store_id"], set_={"generation": table.c.generation + 1}
        ).returning(table.c.generation)
        out[store_id] = int(conn.execute(stmt).scalar_one())
    if out and conn.dialect.name == POSTGRESQL:
        # Delivered to the listeners when (and only if) this transaction commits.
        conn.execute(sa.select(sa.func.pg_notify(INDEX_CHANGES_CHANNEL, "")))
    return out


def exists(conn: Connection, column: sa.Column[str], value: str) -> bool:
    """Whether ``column``'s table has a row where ``column = value``."""
    assert isinstance(column.table, sa.Table)
    query = sa.select(sa.literal(1)).select_from(column.table).where(column == value).limit(1)
    return conn.execute(query).first() is not None


# Bound parameters per statement: below SQLite's 32,766 and PostgreSQL's 65,535.
_MAX_PARAMS = 30_000


@functools.lru_cache(maxsize=256)
def _insert_sql(
    dialect: sa.engine.Dialect,
    table: sa.Table,
    columns: tuple[str, ...],
    n_rows: int,
    *,
    skip_existing: tuple[str, ...],
    returning: str,
) -> str:
    quote = dialect.identifier_preparer.quote
    # The two drivers' positional placeholders: sqlite3 (qmark) and psycopg (format).
    mark = "?" if dialect.name == SQLITE else "%s"
    row = "(" + ", ".join([mark] * len(columns)) + ")"
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES " + ", ".join(
        [row] * n_rows
    )
    if skip_existing:
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in skip_existing)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {quote(returning)}"
    return sql


def insert_rows(
    conn: Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    skip_existing: Sequence[str] = (),
    returning: str = "",
) -> list[Any]:
    """Insert ``rows`` (value tuples in ``columns`` order, plain ints, str and bytes) with multi-row
    INSERTs; ``skip_existing`` names the unique key whose existing rows are skipped (ON CONFLICT DO
    NOTHING); the ``returning`` column's value of every row inserted.

    For ingest's bulk rows (events, claims, ledger): the statement text is rendered once per table
    and row count and goes to the driver as is, because SQLAlchemy's per-row parameter processing
    (executemany, insertmanyvalues) costs more than SQLite's insert itself. Only for columns without
    type processing (Text, Integer, BigInteger, LargeBinary).
    """
    out: list[Any] = []
    cols = tuple(columns)
    per_stmt = max(1, _MAX_PARAMS // len(cols))
    for i in range(0, len(rows), per_stmt):
        chunk = rows[i : i + per_stmt]
        sql = _insert_sql(
            conn.dialect, table, cols, len(chunk), skip_existing=tuple(skip_existing), returning=returning
        )
        result = conn.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(chunk)))
        if returning:
            out.extend(result.scalars().all())
    return out


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
    from cloud_core.storage.cloud_store import upgrade_engine

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
