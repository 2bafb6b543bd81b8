"""Alembic environment: runs on the connection ``cloud_core.storage.cloud_store`` hands over.

``cloud_store.upgrade_engine`` opens the connection, takes the migration lock and begins the
transaction; every revision then runs inside it (SQLite and PostgreSQL both have transactional DDL),
so a failed migration leaves the database as it was.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection


def _run(connection: Connection) -> None:
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations with `cartads-cloud migrate --db DB`, not the alembic command")
    _run(connection)


main()
