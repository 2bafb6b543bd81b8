"""The cloud's store on SQLAlchemy Core: one class over SQLite or PostgreSQL."""

from __future__ import annotations

from cloud_core.storage.admin_tables import AdminTablesMixin
from cloud_core.storage.assets import AssetsMixin
from cloud_core.storage.console import ConsoleReadsMixin
from cloud_core.storage.db import Database
from cloud_core.storage.edges import EdgesMixin
from cloud_core.storage.experiments import ExperimentTablesMixin
from cloud_core.storage.ledger import LedgerMixin
from cloud_core.storage.pacing_stats import PacingStatsMixin
from cloud_core.storage.reports import ReportTablesMixin
from cloud_core.storage.tokens import TokenTablesMixin


class SqlCloudStore(
    AdminTablesMixin,
    LedgerMixin,
    EdgesMixin,
    AssetsMixin,
    ConsoleReadsMixin,
    ExperimentTablesMixin,
    ReportTablesMixin,
    TokenTablesMixin,
    PacingStatsMixin,
):
    """All cloud tables in one database (a SQLite file in WAL mode, or PostgreSQL)."""

    @classmethod
    async def open(cls, db: str, *, replica_id: str = "") -> SqlCloudStore:
        """Open ``db`` (a path or DSN), migrating it to the newest schema.

        ``replica_id`` names this process among several cloud replicas sharing the database.
        """
        store = cls(await Database.open(db))
        store.replica_id = replica_id
        return store
