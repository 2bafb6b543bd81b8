"""Writing rows the same way on both engines: inserts, adding upserts that saturate instead of
overflowing, chunked IN lists, multi-row inserts under the parameter limit, and the change counters
that tell every replica's index streams that a store changed."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cartads.bounds import ROLLUP_SATURATION
from cloud_core.storage.schema import index_changes
from cloud_core.storage.sql.database import POSTGRESQL, SQLITE

_log = structlog.get_logger("cloud.storage")


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
