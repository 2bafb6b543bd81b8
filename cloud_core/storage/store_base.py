"""What every storage mixin shares: the Database its queries run on."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud_core.storage.db import Database

# Keeps each IN (...) list well below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
IN_CHUNK = 500


def chunks(values: Sequence[str], size: int = IN_CHUNK) -> Iterator[list[str]]:
    """``values`` without duplicates, sorted, in lists of at most ``size``."""
    unique = sorted(set(values))
    for i in range(0, len(unique), size):
        yield unique[i : i + size]


def exists(conn: Connection, column: sa.Column[str], value: str) -> bool:
    """Whether ``column``'s table has a row where ``column = value``."""
    assert isinstance(column.table, sa.Table)
    query = sa.select(sa.literal(1)).select_from(column.table).where(column == value).limit(1)
    return conn.execute(query).first() is not None


class DatabaseMixin:
    """Holds the Database; every public method of a mixin runs its SQL through it (never on the loop)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def close(self) -> None:
        """Close the database (idempotent)."""
        await self.db.close()
