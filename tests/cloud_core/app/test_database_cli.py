"""`cartads-cloud migrate`, and the one-line error when the cloud cannot open its database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cloud_core.app import cli
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.migrations import head_revision
from tests.storage_engines import fresh_pg_dsn


def test_migrate_creates_the_schema(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`migrate --db DB` brings a database to the newest revision and says so."""
    assert cli.main(["migrate", "--db", db_url]) == 0
    assert head_revision() in capsys.readouterr().out


@pytest.mark.postgres
async def test_migrate_builds_an_empty_postgres_database(capsys: pytest.CaptureFixture[str]) -> None:
    """On an empty PostgreSQL database, migrate creates every table, and a second run changes nothing."""
    with fresh_pg_dsn(empty=True) as dsn:
        assert cli.main(["migrate", "--db", dsn]) == 0
        assert cli.main(["migrate", "--db", dsn]) == 0
        db = await Database.open(dsn)
        try:
            tables = await db.read(lambda conn: set(sa.inspect(conn).get_table_names()))
        finally:
            await db.close()
    assert {"alembic_version", "events", "billed_ads", "index_changes"} <= tables
    assert capsys.readouterr().out.count(head_revision()) == 2


@pytest.mark.parametrize(
    ("db", "expected"),
    [
        ("postgresql://u:secret@127.0.0.1:1/ads?connect_timeout=2", "cannot open database postgresql+psycopg://u:***@"),
        ("mysql://db/ads", "unsupported database"),
    ],
)
def test_serve_with_unusable_database_is_one_line_error(
    db: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unreachable server or unknown scheme exits 2 with one `error:` line, no traceback, no password."""
    assert cli.main(["--db", db, "--listen", "127.0.0.1:0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ")
    assert expected in err
    assert "secret" not in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_migrate_with_unreachable_database_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`migrate` against a server that is not there exits 2 with one `error:` line."""
    assert cli.main(["migrate", "--db", "postgresql://u@127.0.0.1:1/ads?connect_timeout=2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot open database")
    assert len(err.splitlines()) == 1
