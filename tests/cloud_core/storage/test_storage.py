"""The store directly, on SQLite and PostgreSQL: migrations, exactly-once keys, replicas' edge rows."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from cartads.rpc.errors import AlreadyExistsError, FailedPreconditionError, NotFoundError
from cartads.v1 import admin_pb2
from cloud_core.admin.pagination import PageRequest
from cloud_core.events.outcomes import EventOutcome
from cloud_core.storage import schema
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.storage.sql.database import Database, DatabaseOpenError, database_url
from cloud_core.storage.sql.migrations import alembic_config, head_revision, upgrade_to_head
from tests.cloud_core.helpers import campaign

IMPRESSION = 1


async def seeded(store: SqlCloudStore, budget_micros: int = 10**12) -> None:
    await store.advertisers.create_advertiser(admin_pb2.Advertiser(advertiser_id="acme", display_name="Acme"))
    await store.campaigns.create_campaign(campaign(budget_micros=budget_micros))


def impression(event_id: str, ad_id: str, seq: int = 1, charge_micros: int = 1_000) -> EventOutcome:
    return EventOutcome(
        seq=seq,
        event_id=event_id,
        event_type=IMPRESSION,
        cart_id="c",
        session_id="s",
        event_blob=b"",
        ad_id=ad_id,
        advertiser_id="acme",
        campaign_id="c1",
        line_item_id="li1",
        billable=True,
        charge_micros=charge_micros,
    )


def test_database_url_tells_the_engines_apart() -> None:
    """A path or sqlite URL is SQLite; postgres:// and postgresql:// DSNs use psycopg 3."""
    assert database_url("./x/cloud.sqlite3").get_backend_name() == "sqlite"
    assert database_url("sqlite:///x.db").database == "x.db"
    pg = database_url("postgres://u:pw@db:5432/ads")
    assert (pg.drivername, pg.host, pg.database) == ("postgresql+psycopg", "db", "ads")
    with pytest.raises(DatabaseOpenError, match="unsupported database"):
        database_url("mysql://db/ads")


async def test_open_migrates_to_head_once(db_url: str) -> None:
    """Opening a new database twice leaves it at the newest Alembic revision, with every table."""
    for _ in range(2):
        store = await SqlCloudStore.open(db_url)
        await store.close()
    db = await Database.open(db_url)
    try:
        revision = await db.read(lambda c: c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar())
        tables = await db.read(lambda c: set(sa.inspect(c).get_table_names()))
    finally:
        await db.close()
    assert revision == head_revision()
    assert set(schema.metadata.tables) <= tables


async def test_migrations_match_the_schema_tables(db_url: str) -> None:
    """The Alembic revisions create exactly the columns schema.py declares (no drift between the two)."""
    db = await Database.open(db_url)
    try:

        def columns(conn: sa.Connection) -> dict[str, set[str]]:
            inspector = sa.inspect(conn)
            return {name: {c["name"] for c in inspector.get_columns(name)} for name in schema.metadata.tables}

        found = await db.read(columns)
    finally:
        await db.close()
    assert found == {name: set(table.columns.keys()) for name, table in schema.metadata.tables.items()}


async def test_sqlite_file_uses_wal(tmp_path: Path) -> None:
    """A SQLite database is journaled in WAL mode (readers never block the writer)."""
    path = tmp_path / "sub" / "c.sqlite3"
    store = await SqlCloudStore.open(str(path))
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_sqlite3_era_file_is_adopted(tmp_path: Path) -> None:
    """A file made by the hand-written sqlite3 migrations (version 5) is taken over by Alembic, data kept."""
    path = tmp_path / "old.sqlite3"
    # That schema is revision 0001 less issue 6's replica column and change table, versioned in schema_version.
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001_initial")
    engine.dispose()
    with sqlite3.connect(path) as legacy:
        legacy.executescript(
            """
            DROP TABLE alembic_version;
            DROP TABLE index_changes;
            ALTER TABLE edges DROP COLUMN replica_id;
            CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_time_us INTEGER);
            INSERT INTO schema_version VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0);
            INSERT INTO advertisers VALUES ('acme', 'Acme', 0);
            """
        )
    legacy.close()
    assert upgrade_to_head(str(path)) == head_revision()
    store = await SqlCloudStore.open(str(path))
    try:
        advertiser = await store.advertisers.get_advertiser("acme")
        await store.edges.edge_connected("s1", "e1", "v1", 5)
    finally:
        await store.close()
    assert advertiser is not None
    assert advertiser.display_name == "Acme"


async def test_unreachable_postgres_is_a_one_line_error() -> None:
    """A PostgreSQL server that is not there fails the open with DatabaseOpenError, password hidden."""
    with pytest.raises(DatabaseOpenError) as error:
        await Database.open("postgresql://u:secret@127.0.0.1:1/none?connect_timeout=2")
    message = str(error.value)
    assert message.startswith("cannot open database postgresql+psycopg://u:***@127.0.0.1:1/none")
    assert "secret" not in message
    assert "\n" not in message


async def test_large_integers_round_trip(store: SqlCloudStore) -> None:
    """Budgets and times beyond 2**31 are stored exactly (BIGINT on PostgreSQL)."""
    await seeded(store, budget_micros=5 * 10**15)
    got = await store.campaigns.get_campaign("c1")
    assert got is not None
    assert got.budget_micros == 5 * 10**15


async def test_create_twice_is_already_exists(store: SqlCloudStore) -> None:
    """A taken id is refused by its key, not overwritten."""
    await seeded(store)
    with pytest.raises(AlreadyExistsError):
        await store.campaigns.create_campaign(campaign(budget_micros=7))
    got = await store.campaigns.get_campaign("c1")
    assert got is not None
    assert got.budget_micros == 10**12


async def test_update_of_missing_row_is_not_found(store: SqlCloudStore) -> None:
    """Updating an id that does not exist raises NotFoundError."""
    with pytest.raises(NotFoundError):
        await store.advertisers.update_advertiser(admin_pb2.Advertiser(advertiser_id="nobody", display_name="x"))


async def test_delete_parent_with_children_fails(store: SqlCloudStore) -> None:
    """An advertiser with a campaign cannot be deleted."""
    await seeded(store)
    with pytest.raises(FailedPreconditionError):
        await store.advertisers.delete_advertiser("acme")


async def test_pages_follow_id_order(store: SqlCloudStore) -> None:
    """Listing pages by id returns ``limit + 1`` rows after the resume id, in id order."""
    for name in ["b", "a", "d", "c"]:
        await store.advertisers.create_advertiser(admin_pb2.Advertiser(advertiser_id=name, display_name=name.upper()))
    page = await store.advertisers.list_advertisers(PageRequest(after_id="a", limit=1))
    assert [a.advertiser_id for a in page] == ["b", "c"]


async def test_catalog_import_replaces_rows_by_key(store: SqlCloudStore) -> None:
    """Importing a catalog twice overwrites products by id instead of failing."""
    await store.catalog.create_store(admin_pb2.Store(store_id="s1", display_name="S", time_zone="UTC"), b"k" * 32)
    for price in (100, 200):
        product = admin_pb2.Product(product_id="p1", display_name="P", aisle_id="a1", price_micros=price)
        await store.catalog.import_catalog(
            "s1", [admin_pb2.Aisle(aisle_id="a1", display_name="A")], [], [product, product]
        )
    [product] = await store.catalog.list_products("s1", PageRequest(after_id="", limit=10))
    assert product.price_micros == 200


async def test_record_events_is_idempotent(store: SqlCloudStore) -> None:
    """Recording the same billable outcome twice charges once and counts a duplicate."""
    await seeded(store, budget_micros=1_000)
    outcome = impression("e1", "ad-1")
    first = await store.ledger.record_events("s1", "edge-1", [outcome])
    second = await store.ledger.record_events("s1", "edge-1", [outcome])
    [row] = await store.ledger.spend_report("", "")
    assert (first.billed_count, second.duplicate_count, second.billed_count) == (1, 1, 0)
    assert first.exhausted_campaign_ids == frozenset({"c1"})
    assert not second.exhausted_campaign_ids
    assert (row.impressions, row.spend_micros) == (1, 1_000)


async def test_upload_larger_than_one_insert_statement_is_recorded_once(store: SqlCloudStore) -> None:
    """An upload spread over several multi-row INSERTs bills every event once, and its resend none."""
    await seeded(store)
    batch = [impression(f"e{i:05}", f"a{i}", seq=i) for i in range(4_500)]
    first = await store.ledger.record_events("s1", "edge-1", batch)
    second = await store.ledger.record_events("s1", "edge-1", batch)
    [row] = await store.ledger.spend_report("", "")
    assert (first.billed_count, second.billed_count, second.duplicate_count) == (4_500, 0, 4_500)
    assert row.impressions == 4_500


async def test_second_use_of_a_decision_is_recorded_not_billed(store: SqlCloudStore) -> None:
    """Two events of one decision and kind in one upload: the first uploaded is billed, the other recorded."""
    await seeded(store)
    result = await store.ledger.record_events(
        "s1", "edge-1", [impression("e2", "ad-1"), impression("e1", "ad-1", seq=2)]
    )
    [row] = await store.ledger.spend_report("", "")
    assert (result.billed_count, result.recorded_count, result.duplicate_count) == (1, 1, 0)
    assert row.impressions == 1
    outcomes = await store.db.read(
        lambda c: dict(c.execute(sa.select(schema.events.c.event_id, schema.events.c.outcome)).all())
    )
    assert outcomes == {"e2": "billed", "e1": "already_billed"}


async def test_rejected_events_go_to_dead_letters_once(store: SqlCloudStore) -> None:
    """A refused event is dead-lettered once even when uploaded twice."""
    await seeded(store)
    bad = EventOutcome(
        seq=3, event_id="bad", event_type=IMPRESSION, cart_id="c", session_id="s", event_blob=b"", reject_reason="nope"
    )
    first = await store.ledger.record_events("s1", "edge-1", [bad])
    second = await store.ledger.record_events("s1", "edge-1", [bad])
    letters = await store.ledger.dead_letters("s1")
    assert (first.rejected_count, second.duplicate_count) == (1, 1)
    assert [(d.event_id, d.reason) for d in letters] == [("bad", "nope")]


async def test_concurrent_writers_bill_each_event_once(db_url: str) -> None:
    """Two stores (as two replicas) recording overlapping batches at once bill every event once."""
    stores = [await SqlCloudStore.open(db_url) for _ in range(2)]
    try:
        await seeded(stores[0])
        batches = [[impression(f"e{i}", f"a{i}", seq=i) for i in range(n, n + 300)] for n in (0, 150, 0)]
        results = await asyncio.gather(
            *(stores[i % 2].ledger.record_events("s1", "edge-1", batch) for i, batch in enumerate(batches))
        )
        [row] = await stores[1].ledger.spend_report("", "")
    finally:
        for s in stores:
            await s.close()
    assert sum(r.billed_count for r in results) == 450
    assert sum(r.duplicate_count for r in results) == 450
    assert (row.impressions, row.spend_micros) == (450, 450_000)


async def test_disconnect_all_marks_only_this_replicas_edges(db_url: str) -> None:
    """A replica restarting marks the edges it held disconnected, not those another replica serves."""
    a = await SqlCloudStore.open(db_url, replica_id="a")
    b = await SqlCloudStore.open(db_url, replica_id="b")
    try:
        await a.edges.edge_connected("s1", "e-a", "v1", 10)
        await b.edges.edge_connected("s1", "e-b", "v1", 10)
        await a.edges.disconnect_all_edges()
        edges = await b.edges.list_edges("", PageRequest(after_id="", limit=10))
    finally:
        await a.close()
        await b.close()
    assert {e.edge_id: e.connected for e in edges} == {"e-a": False, "e-b": True}


async def test_stream_end_on_old_replica_keeps_the_new_one_connected(db_url: str) -> None:
    """An edge that moved to replica B stays connected when its old stream on A ends late."""
    a = await SqlCloudStore.open(db_url, replica_id="a")
    b = await SqlCloudStore.open(db_url, replica_id="b")
    try:
        await a.edges.edge_connected("s1", "e1", "v1", 10)
        await b.edges.edge_connected("s1", "e1", "v1", 20)
        await a.edges.edge_disconnected("s1", "e1", 30)
        [edge] = await b.edges.list_edges("s1", PageRequest(after_id="", limit=10))
    finally:
        await a.close()
        await b.close()
    assert edge.connected


async def test_restart_also_disconnects_edges_of_exited_processes_of_this_host(db_url: str) -> None:
    """A replica starting marks edges of a gone HOSTNAME:PID replica of its host disconnected, not other hosts'."""
    host = socket.gethostname()
    exited = await asyncio.create_subprocess_exec("true")
    await exited.wait()
    old_id = f"{host}:{exited.pid}"
    old = await SqlCloudStore.open(db_url, replica_id=old_id)
    far = await SqlCloudStore.open(db_url, replica_id="elsewhere:1")
    new = await SqlCloudStore.open(db_url, replica_id=f"{host}:{os.getpid()}")
    try:
        await old.edges.edge_connected("s1", "e-old", "v1", 10)
        await far.edges.edge_connected("s1", "e-far", "v1", 10)
        await new.edges.disconnect_all_edges()
        edges = await new.edges.list_edges("", PageRequest(after_id="", limit=10))
    finally:
        for s in (old, far, new):
            await s.close()
    assert {e.edge_id: e.connected for e in edges} == {"e-old": False, "e-far": True}
