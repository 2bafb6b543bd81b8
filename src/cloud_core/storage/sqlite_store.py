"""The SQLite implementation of CloudStore."""

from __future__ import annotations

from cloud_core.storage.sqlite_admin import SqliteAdminMixin
from cloud_core.storage.sqlite_assets import SqliteAssetsMixin
from cloud_core.storage.sqlite_edges import SqliteEdgesMixin
from cloud_core.storage.sqlite_ledger import SqliteLedgerMixin


class SqliteCloudStore(SqliteAdminMixin, SqliteLedgerMixin, SqliteEdgesMixin, SqliteAssetsMixin):
    """All cloud tables in one SQLite file (WAL), every query on one worker thread."""

    @classmethod
    async def open_path(cls, path: str) -> SqliteCloudStore:
        """Open (creating and migrating as needed) the database at ``path``."""
        store = cls(path)
        await store.open()
        return store
