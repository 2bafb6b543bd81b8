"""The cloud's stores over one database (SQLite or PostgreSQL): ``SqlCloudStore`` opens it (migrating
it to the newest schema, ``storage/sql/migrations.py``) and holds one store per concern, each
implementing the narrow Protocol(s) of ``storage/protocol.py`` its services need.
"""

from __future__ import annotations

from cloud_core.storage.assets import SqlAssets
from cloud_core.storage.campaigns import SqlAdvertisers, SqlCampaigns
from cloud_core.storage.carts import SqlCarts
from cloud_core.storage.catalog import SqlCatalog
from cloud_core.storage.console import SqlConsoleReads
from cloud_core.storage.edges import SqlEdges
from cloud_core.storage.exports.jobs import SqlReportExports
from cloud_core.storage.ledger import SqlLedger
from cloud_core.storage.pacing_stats import SqlPacingStats
from cloud_core.storage.replicas.heartbeats import SqlReplicas
from cloud_core.storage.replicas.index_versions import SqlIndexStore
from cloud_core.storage.reports import SqlExperiments, SqlReports
from cloud_core.storage.sql.database import Database
from cloud_core.storage.tokens import SqlAudit, SqlTokens
from cloud_core.storage.trust.keys import SqlSigningKeys
from cloud_core.storage.trust.terms import SqlTerms


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
        self.audit = SqlAudit(db)
        self.experiments = SqlExperiments(db)
        self.reports = SqlReports(db)
        self.console = SqlConsoleReads(db)
        self.pacing_stats = SqlPacingStats(db)
        self.carts = SqlCarts(db)
        self.signing_keys = SqlSigningKeys(db)
        self.terms = SqlTerms(db, self.signing_keys)
        self.exports = SqlReportExports(db)
        self.index_versions = SqlIndexStore(db)
        self.replicas = SqlReplicas(db)

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
