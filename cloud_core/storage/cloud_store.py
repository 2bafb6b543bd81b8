"""Opening the cloud's database: bring it to the newest schema with Alembic (``cartads-cloud migrate``,
and on every start), then hold one store per concern over it (``SqlCloudStore``, on SQLAlchemy Core
over SQLite or PostgreSQL; each store implements the narrow Protocol(s) of storage/protocol.py its
services need).

Two processes may start against one database at once: the migration runs under a lock (SQLite's
write lock, a PostgreSQL advisory lock) and re-reads the version inside it, so each revision is
applied once.
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

from cloud_core.storage.assets import SqlAssets
from cloud_core.storage.campaigns import SqlAdvertisers, SqlCampaigns
from cloud_core.storage.carts import SqlCarts
from cloud_core.storage.catalog import SqlCatalog
from cloud_core.storage.console import SqlConsoleReads
from cloud_core.storage.db import POSTGRESQL, SQLITE, Database, create_engine, database_url
from cloud_core.storage.edges import SqlEdges
from cloud_core.storage.ledger import SqlLedger
from cloud_core.storage.pacing_stats import SqlPacingStats
from cloud_core.storage.reports import SqlExperiments, SqlReports
from cloud_core.storage.tokens import SqlTokens


class SqlCloudStore:
    """All cloud tables in one database (a SQLite file in WAL mode, or PostgreSQL), by concern."""

    def __init__(self, db: Database, *, replica_id: str = "") -> None:
        self.db = db
        self.advertisers = SqlAdvertisers(db)
        self.campaigns = SqlCampaigns(db)
        self.catalog = SqlCatalog(db)
        self.ledger = SqlLedger(db)
        self.edges = SqlEdges(db, replica_id)
        self.assets = SqlAssets(db)
        self.tokens = SqlTokens(db)
        self.experiments = SqlExperiments(db)
        self.reports = SqlReports(db)
        self.console = SqlConsoleReads(db)
        self.pacing_stats = SqlPacingStats(db)
        self.carts = SqlCarts(db)

    @classmethod
    async def open(cls, db: str, *, replica_id: str = "") -> SqlCloudStore:
        """Open ``db`` (a path or DSN), migrating it to the newest schema.

        ``replica_id`` names this process among several cloud replicas sharing the database.
        """
        return cls(await Database.open(db), replica_id=replica_id)

    async def close(self) -> None:
        """Let the uploads being recorded commit, then close the database (idempotent)."""
        await self.ledger.close()
        await self.db.close()


# ---- migrations ----

_SCRIPTS = Path(__file__).resolve().parent / "alembic"
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
