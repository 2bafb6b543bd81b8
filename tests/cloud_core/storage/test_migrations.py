"""The Alembic revisions and ``storage/schema.py`` describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cloud_core.storage.schema import metadata
from cloud_core.storage.sql.database import create_engine, database_url
from cloud_core.storage.sql.migrations import upgrade_to_head


def test_migrated_database_matches_schema_module(db_url: str) -> None:
    """A database migrated to head has every table, column and index that schema.py declares, and no other."""
    upgrade_to_head(db_url)
    engine = create_engine(database_url(db_url))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == []
