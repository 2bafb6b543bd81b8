"""The console's reads on both engines: edges, campaigns with summed spend, hourly spend of one campaign."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cartads.time_units import HOUR_US
from cloud_core.console.model import CampaignHours, CampaignTotals, EdgeRow, HourlySpend
from cloud_core.storage.console import SqlConsoleReads
from cloud_core.storage.schema import advertisers, campaigns, edges, hourly_rollups, spend
from cloud_core.storage.sql.database import Database

T0 = 1_780_000_000 * 1_000_000 // HOUR_US * HOUR_US
BIG = 3_000_000_000_000  # beyond 32 bits: micros and counters are 64-bit on both engines


@pytest.fixture
async def db(database: Database) -> Database:
    """The database with an advertiser, two campaigns, edges and billed spend (see _seed)."""
    await database.write(_seed)
    return database


@pytest.fixture
def reads(db: Database) -> SqlConsoleReads:
    """The console's SQL reads over the seeded database."""
    return SqlConsoleReads(db)


def _seed(conn: Connection) -> None:
    conn.execute(advertisers.insert().values(advertiser_id="adv-1", display_name="Brewed", create_time_us=T0))
    for cid, state in (("cmp-1", 1), ("cmp-2", 2)):
        conn.execute(
            campaigns.insert().values(
                campaign_id=cid,
                advertiser_id="adv-1",
                display_name=f"Campaign {cid}",
                start_time_us=T0,
                end_time_us=T0 + 48 * HOUR_US,
                budget_micros=BIG * 2,
                state=state,
                create_time_us=T0,
            )
        )
    for store, li, imps, spent in (("s1", "li-1", 10, BIG), ("s2", "li-1", 5, 300), ("s1", "li-2", 1, 7)):
        conn.execute(
            spend.insert().values(
                store_id=store,
                campaign_id="cmp-1",
                line_item_id=li,
                impressions=imps,
                clicks=1,
                conversions=0,
                spend_micros=spent,
            )
        )
    for store, li, hour, spent in (
        ("s1", "li-1", T0 + HOUR_US, BIG),
        ("s2", "li-1", T0 + HOUR_US, 300),
        ("s1", "li-2", T0, 7),
    ):
        conn.execute(
            hourly_rollups.insert().values(
                campaign_id="cmp-1",
                line_item_id=li,
                store_id=store,
                hour_start_us=hour,
                impressions=2,
                clicks=1,
                conversions=0,
                spend_micros=spent,
            )
        )
    conn.execute(
        edges.insert().values(
            store_id="s1",
            edge_id="e1",
            applied_version="v1",
            last_nonce="n1",
            last_ack_time_us=T0,
            last_nack_time_us=T0 + 5,
            last_error="checksum mismatch",
            last_seen_us=T0 + 9,
            connected=1,
            current_version="v2",
            last_answer="NACK",
            last_nack_version="v2",
        )
    )
    conn.execute(
        edges.insert().values(
            store_id="s0", edge_id="e9", applied_version="", last_nonce="", last_error="", last_seen_us=T0
        )
    )


async def test_edges_are_read_in_store_order_with_their_status(reads: SqlConsoleReads) -> None:
    """Every edge row is read with connection, versions, last answer and times, ordered by store and edge."""
    rows = await reads.console_edges()
    assert [(r.store_id, r.edge_id) for r in rows] == [("s0", "e9"), ("s1", "e1")]
    assert rows[1] == EdgeRow("s1", "e1", True, "v1", "v2", "NACK", T0, T0 + 5, "checksum mismatch", "v2", T0 + 9)
    assert rows[0].connected is False


async def test_campaigns_sum_spend_over_stores_and_line_items(reads: SqlConsoleReads) -> None:
    """A campaign's totals add up every store and line item; a campaign without spend reads zeros."""
    by_id = {c.campaign_id: c for c in await reads.console_campaigns()}
    assert by_id["cmp-1"] == CampaignTotals(
        "cmp-1", "adv-1", "Campaign cmp-1", BIG * 2, T0, T0 + 48 * HOUR_US, True, 16, 3, 0, BIG + 307
    )
    assert (by_id["cmp-2"].spend_micros, by_id["cmp-2"].impressions, by_id["cmp-2"].active) == (0, 0, False)


async def test_one_campaign_reads_like_the_list(reads: SqlConsoleReads) -> None:
    """Reading one campaign gives the same totals as its row in the list; an unknown id gives None."""
    listed = {c.campaign_id: c for c in await reads.console_campaigns()}
    assert await reads.console_campaign("cmp-1") == listed["cmp-1"]
    assert await reads.console_campaign("nope") is None


async def test_hourly_spend_is_summed_per_hour_oldest_first(reads: SqlConsoleReads) -> None:
    """Hourly rollups of one campaign are summed over stores and line items per hour, oldest first."""
    read = await reads.console_hourly_spend("cmp-1")
    assert read == CampaignHours(0, (HourlySpend(T0, 2, 1, 0, 7), HourlySpend(T0 + HOUR_US, 4, 2, 0, BIG + 300)))
    assert await reads.console_hourly_spend("cmp-2") == CampaignHours(0, ())


async def test_hours_before_since_are_one_sum(reads: SqlConsoleReads) -> None:
    """Hours before ``since_us`` come back as one spend sum, later hours one by one."""
    read = await reads.console_hourly_spend("cmp-1", T0 + HOUR_US)
    assert read == CampaignHours(7, (HourlySpend(T0 + HOUR_US, 4, 2, 0, BIG + 300),))


async def test_migrations_create_the_campaign_hour_index(db: Database) -> None:
    """Revision 0005 gives hourly_rollups the (campaign, hour) index the spend chart reads through."""

    def _indexes(conn: Connection) -> dict[str, list[str | None]]:
        return {str(i["name"]): list(i["column_names"]) for i in sa.inspect(conn).get_indexes("hourly_rollups")}

    indexes = await db.read(_indexes)
    assert indexes["hourly_rollups_by_campaign_hour"] == ["campaign_id", "hour_start_us"]
