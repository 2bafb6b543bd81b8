"""Rollup adds saturate instead of overflowing, on both engines, and say so at error level."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from structlog.testing import capture_logs

from cartads.bounds import ROLLUP_SATURATION
from cloud_core.storage import schema as t
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import upsert_adding

KEY = ("store_id", "hour_start_us")


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    opened = await Database.open(db_url)
    try:
        yield opened
    finally:
        await opened.close()


def _add(conn: Connection, rows: list[dict[str, object]]) -> None:
    upsert_adding(conn, t.store_traffic_hourly, KEY, ("events",), rows)


async def add_events(db: Database, *counts: int) -> int:
    """Add each count to one store_traffic_hourly row in turn; the row's total."""
    for count in counts:
        rows = [{"store_id": "s1", "hour_start_us": 0, "events": count}]
        await db.write(functools.partial(_add, rows=rows))
    query = sa.select(t.store_traffic_hourly.c.events)
    return int(await db.read(lambda conn: conn.execute(query).scalar_one()))


async def test_adds_below_the_bound_sum(db: Database) -> None:
    """Ordinary adds are plain sums."""
    assert await add_events(db, 3, 4) == 7


async def test_an_add_past_the_bound_stops_at_it(db: Database) -> None:
    """A sum that would pass the saturation bound is the bound, not an overflow or an error."""
    assert await add_events(db, ROLLUP_SATURATION - 10, 100) == ROLLUP_SATURATION


async def test_a_saturated_row_stays_saturated(db: Database) -> None:
    """Further adds to a saturated row leave it at the bound (and never wrap around)."""
    assert await add_events(db, ROLLUP_SATURATION, 2**61, 2**61) == ROLLUP_SATURATION


async def test_saturation_is_logged_at_error(db: Database) -> None:
    """The row that saturated is named in a rollup_saturated error line."""
    with capture_logs() as logs:
        await add_events(db, ROLLUP_SATURATION - 1, 5)
    [line] = [line for line in logs if line["event"] == "rollup_saturated"]
    assert (line["log_level"], line["table"], line["rows"]) == ("error", "store_traffic_hourly", [("s1", 0)])


async def test_ordinary_adds_log_nothing(db: Database) -> None:
    """No error line for sums far from the bound."""
    with capture_logs() as logs:
        await add_events(db, 1, 2)
    assert [line for line in logs if line["event"] == "rollup_saturated"] == []
