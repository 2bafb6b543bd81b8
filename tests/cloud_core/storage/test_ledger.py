"""The ledger's store on SQLite and PostgreSQL: group commit of uploads and the ingest clock."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from cartads.group_commit import GroupCommitterClosedError
from cartads.time_units import HOUR_US
from cartads.v1 import common_pb2
from cloud_core.events.outcomes import EventOutcome
from cloud_core.storage import schema
from cloud_core.storage.admin_rows import campaign_row
from cloud_core.storage.ledger import SqlLedger
from cloud_core.storage.pacing_stats import SqlPacingStats
from cloud_core.storage.sql.database import Database
from tests.cloud_core.helpers import campaign

INGEST_US = 1_780_000_000 * 1_000_000 // HOUR_US * HOUR_US + 17


class CountingClock:
    """A fixed ingest time that counts how often it was read."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return INGEST_US


@pytest.fixture
async def db(database: Database) -> Database:
    """The database with advertiser acme, whom the ledger's rows name."""
    await database.write(
        lambda conn: conn.execute(
            schema.advertisers.insert().values(advertiser_id="acme", display_name="Acme", create_time_us=0)
        )
    )
    return database


def impression(event_id: str) -> EventOutcome:
    return EventOutcome(
        seq=1,
        event_id=event_id,
        event_type=common_pb2.EVENT_TYPE_IMPRESSION,
        cart_id="c",
        session_id="s",
        event_blob=b"",
        ad_id=f"ad-{event_id}",
        advertiser_id="acme",
        campaign_id="c1",
        line_item_id="li1",
        billable=True,
        charge_micros=1_000,
    )


async def test_concurrent_uploads_share_a_commit_and_one_clock_read(db: Database) -> None:
    """Uploads arriving together commit in one group, which reads the clock once, each getting its own counts."""
    clock = CountingClock()
    ledger = SqlLedger(db, clock)
    results = await asyncio.gather(
        *(ledger.record_events("s1", f"edge-{i}", [impression(f"e{i}"), impression(f"e{i}")]) for i in range(5))
    )
    await ledger.close()
    assert [(r.billed_count, r.duplicate_count) for r in results] == [(1, 1)] * 5
    assert clock.reads == 1


async def test_events_without_receive_time_take_the_ingest_time(db: Database) -> None:
    """The ingest time from the ledger's clock stamps the events and places them in its hour."""
    ledger = SqlLedger(db, CountingClock())
    await ledger.record_events("s1", "edge-1", [impression("e1")])
    await ledger.close()
    ingest_times = await db.read(lambda conn: list(conn.execute(sa.select(schema.events.c.ingest_time_us)).scalars()))
    assert ingest_times == [INGEST_US]
    assert await SqlPacingStats(db).store_traffic(0) == {"s1": 1}
    hours = await db.read(lambda conn: list(conn.execute(sa.select(schema.hourly_rollups.c.hour_start_us)).scalars()))
    assert hours == [INGEST_US - INGEST_US % HOUR_US]


async def test_exhausting_upload_reports_its_campaign(db: Database) -> None:
    """The upload whose spend reaches the campaign's budget reports the campaign as exhausted."""
    row = campaign_row(campaign(budget_micros=2_000))
    await db.write(lambda conn: conn.execute(schema.campaigns.insert().values(**row)))
    ledger = SqlLedger(db, CountingClock())
    first = await ledger.record_events("s1", "edge-1", [impression("e1")])
    second = await ledger.record_events("s1", "edge-1", [impression("e2")])
    third = await ledger.record_events("s1", "edge-1", [impression("e3")])
    await ledger.close()
    assert (first.exhausted_campaign_ids, second.exhausted_campaign_ids) == (frozenset(), frozenset({"c1"}))
    assert third.exhausted_campaign_ids == frozenset()


async def test_closed_ledger_refuses_uploads(db: Database) -> None:
    """After close an upload is refused rather than written to a closing database."""
    ledger = SqlLedger(db, CountingClock())
    await ledger.close()
    with pytest.raises(GroupCommitterClosedError):
        await ledger.record_events("s1", "edge-1", [impression("e1")])
