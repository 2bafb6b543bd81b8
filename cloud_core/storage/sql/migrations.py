"""Bringing a database to the newest schema with Alembic (``cartads-cloud migrate``, and on every start).

Two processes may start against one database at once: the migration runs under a lock (SQLite's
write lock, a PostgreSQL advisory lock) and re-reads the version inside it, so each revision is
applied once. The revisions live in ``cloud_core/storage/alembic``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from cloud_core.storage.sql.database import POSTGRESQL, SQLITE, create_engine, database_url

_SCRIPTS = Path(__file__).resolve().parent.parent / "alembic"
# Any constant shared by every replica: the key of the advisory lock migrations hold.
_PG_MIGRATION_LOCK = 0x0CA57AD5
# The sqlite3-era schema (hand-written migrations 1..5 recorded in schema_version) is revision 0001
# less the replica and token additions, which _adopt_legacy adds before stamping it.
_LEGACY_VERSION = 5


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest revision in ``storage/alembic/versions`` (read once per process)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no alembic revisions found")
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade_to_head(db: str) -> str:
    """Migrate the database ``db`` (a path or DSN) to the newest revision; returns it."""
    engine = create_engine(database_url(db))
    try:
        return upgrade_engine(engine)
    finally:
        engine.dispose()


def upgrade_engine(engine: Engine) -> str:
    """Migrate ``engine``'s database to the newest revision in one locked transaction; returns it."""
    head = head_revision()
    with engine.connect() as conn:
        if conn.dialect.name == SQLITE:
            conn.execution_options(cartads_write=True)
        with conn.begin():
            if conn.dialect.name == POSTGRESQL:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            if current_revision(conn) == head:
                return head
            cfg = alembic_config(conn)
            if _is_legacy(conn):
                _adopt_legacy(conn)
                command.stamp(cfg, "0001_initial")
            command.upgrade(cfg, "head")
    return head


def _is_legacy(conn: Connection) -> bool:
    names = set(sa.inspect(conn).get_table_names())
    return "schema_version" in names and "alembic_version" not in names


def _adopt_legacy(conn: Connection) -> None:
    """Bring a database of the sqlite3-era migrations to revision 0001 (so Alembic takes it over)."""
    version = conn.execute(sa.text("SELECT COALESCE(MAX(version), 0) FROM schema_version")).scalar_one()
    if int(version) != _LEGACY_VERSION:
        raise RuntimeError(
            f"database schema version {version} predates {_LEGACY_VERSION}: start an older release first"
        )
    conn.execute(sa.text("ALTER TABLE edges ADD COLUMN replica_id TEXT NOT NULL DEFAULT ''"))
    conn.execute(
        sa.text("CREATE TABLE index_changes (store_id TEXT PRIMARY KEY, generation BIGINT NOT NULL DEFAULT 0)")
    )
    conn.execute(sa.text("DROP TABLE schema_version"))
