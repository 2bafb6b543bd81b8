"""PostgreSQL for the tests: storage tests run on both engines (the ``db_url`` fixture of the top-level
conftest), a SQLite file in tmp_path and a fresh database on the PostgreSQL server at 127.0.0.1:5432
(skipped with a clear message when it is down, a failure under CI=true).

On this server creating the schema, and creating or dropping a database, each cost 0.5-10 s (DDL and
checkpoints), while deleting every row costs ~30 ms. So each test process keeps ONE database of its
own (named after its pid, dropped at exit), migrated once, and every test starts by emptying it: a
fresh database as far as the test can tell, with its own name, so subprocesses given the DSN and
LISTEN/NOTIFY channels are isolated from other test processes.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from cloud_core.storage.sql.migrations import head_revision, upgrade_to_head

PG_SERVER = "127.0.0.1:5432"
PG_ADMIN_DSN = f"postgresql://postgres@{PG_SERVER}/test"


def pg_dsn(database: str) -> str:
    return f"postgresql://postgres@{PG_SERVER}/{database}"


@functools.cache
def pg_unreachable_reason() -> str | None:
    """Why the test PostgreSQL server cannot be used, or None when it can (checked once per process)."""
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {PG_SERVER}: {str(exc).strip().splitlines()[0]}"
    return None


def require_postgres() -> None:
    """Skip the calling test when PostgreSQL is down; fail it instead under CI=true."""
    reason = pg_unreachable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@functools.cache
def _pool_database() -> str:
    """This process's test database, created on first use (and leftovers of dead test runs dropped)."""
    name = f"cartads_test_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        query = "SELECT datname FROM pg_database WHERE datname LIKE 'cartads\\_test\\_%'"
        for (old,) in conn.execute(query).fetchall():
            pid = old.rsplit("_", 1)[-1]
            if pid.isdigit() and not _alive(int(pid)):
                conn.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    atexit.register(_drop, name)
    return name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop(name: str) -> None:
    with contextlib.suppress(psycopg.Error), psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset(name: str, *, empty: bool) -> None:
    """Empty the database: no rows (schema at the newest revision), or no tables at all when ``empty``."""
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        # Whatever the last test left connected (a killed subprocess's session) must not hold locks.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
    with psycopg.connect(pg_dsn(name), autocommit=True) as conn:
        at_head = conn.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL").fetchone()
        revision = None
        if at_head is not None and at_head[0]:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        if empty or revision != head_revision():
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
            if not empty:
                upgrade_to_head(pg_dsn(name))
            return
        with conn.transaction():
            # Foreign keys are not checked while emptying (every table is emptied anyway).
            conn.execute("SET LOCAL session_replication_role = replica")
            tables = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            ).fetchall()
            for (table,) in tables:
                conn.execute(f'DELETE FROM "{table}"')
            for (sequence,) in conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"):
                conn.execute("SELECT setval(%s, 1, false)", (sequence,))


@contextmanager
def fresh_pg_dsn(*, empty: bool = False) -> Iterator[str]:
    """The DSN of a database with no rows at the newest schema (or no tables at all when ``empty``)."""
    require_postgres()
    name = _pool_database()
    _reset(name, empty=empty)
    yield pg_dsn(name)
