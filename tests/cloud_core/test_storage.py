"""The SQLite store directly: migrations, WAL and exactly-once keys."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cartads.v1 import admin_pb2
from cloud_core.errors import FailedPreconditionError
from cloud_core.storage.migrations import MIGRATIONS
from cloud_core.storage.protocol import EventOutcome
from cloud_core.storage.sqlite_store import SqliteCloudStore
from tests.cloud_core.helpers import campaign


async def test_open_applies_migrations_in_wal_mode(tmp_path: Path) -> None:
    """A new file gets every migration recorded once and WAL journaling, also after reopening."""
    path = str(tmp_path / "c.sqlite3")
    for _ in range(2):
        store = await SqliteCloudStore.open_path(path)
        await store.close()
    conn = sqlite3.connect(path)
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    assert versions == [n for n, _ in MIGRATIONS]
    assert mode == "wal"


async def test_record_events_is_idempotent(tmp_path: Path) -> None:
    """Recording the same billable outcome twice charges once and counts a duplicate."""
    store = await SqliteCloudStore.open_path(str(tmp_path / "c.sqlite3"))
    try:
        await store.create_advertiser(admin_pb2.Advertiser(advertiser_id="acme", display_name="Acme"))
        await store.create_campaign(campaign(budget_micros=1_000))
        outcome = EventOutcome(
            seq=1,
            event_id="e1",
            event_type=1,
            cart_id="c",
            session_id="s",
            event_blob=b"",
            ad_id="ad-1",
            campaign_id="c1",
            line_item_id="li1",
            billable=True,
            charge_micros=1_000,
        )
        first = await store.record_events("s1", "edge-1", [outcome])
        second = await store.record_events("s1", "edge-1", [outcome])
        [row] = await store.spend_report("", "")
    finally:
        await store.close()
    assert (first.billed_count, second.duplicate_count, second.billed_count) == (1, 1, 0)
    assert first.exhausted_campaign_ids == frozenset({"c1"})
    assert not second.exhausted_campaign_ids
    assert (row.impressions, row.spend_micros) == (1, 1_000)


async def test_delete_parent_with_children_fails(tmp_path: Path) -> None:
    """An advertiser with a campaign cannot be deleted."""
    store = await SqliteCloudStore.open_path(str(tmp_path / "c.sqlite3"))
    try:
        await store.create_advertiser(admin_pb2.Advertiser(advertiser_id="acme", display_name="Acme"))
        await store.create_campaign(campaign())
        with pytest.raises(FailedPreconditionError):
            await store.delete_advertiser("acme")
    finally:
        await store.close()
