"""Change notification between replicas through the database (LISTEN/NOTIFY plus polled counters)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest

from cloud_core.storage.sql.database import Database
from cloud_core.sync.db_notifier import DatabaseNotifier, changed_stores
from tests.storage_engines import pg_dsn

# Long enough that only LISTEN/NOTIFY can deliver within the tests' wait on PostgreSQL.
SLOW_POLL_S = 30.0


def test_changed_stores_are_those_whose_counter_grew() -> None:
    """A store is changed when its counter is new or larger than last read; equal counters are not."""
    assert changed_stores({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 1}) == {"b", "c"}


@pytest.fixture
async def two_replicas(db_url: str) -> AsyncIterator[tuple[DatabaseNotifier, DatabaseNotifier]]:
    """Two started notifiers on one database, as two replicas run them (polling slowly on PostgreSQL)."""
    poll_s = SLOW_POLL_S if db_url.startswith("postgresql") else 0.05
    dbs = [await Database.open(db_url) for _ in range(2)]
    notifiers = [DatabaseNotifier(db, poll_interval_s=poll_s) for db in dbs]
    for notifier in notifiers:
        await notifier.start()
    try:
        yield notifiers[0], notifiers[1]
    finally:
        for notifier, db in zip(notifiers, dbs, strict=True):
            await notifier.stop()
            await db.close()


async def test_change_on_one_replica_reaches_the_other(two_replicas: tuple[DatabaseNotifier, DatabaseNotifier]) -> None:
    """A store's change notified on replica B wakes replica A's subscription to that store only."""
    a, b = two_replicas
    watched = a.subscribe("s1")
    a.subscribe("s2")  # a stream of another store, which must not wake
    before = {store_id: a.generation(store_id) for store_id in ("s1", "s2")}
    b.notify(["s1"])
    assert await watched.wait(timeout_s=5.0)
    # A replica signals a store's subscriptions and grows its generation in one step, so once s1's
    # subscription woke, a signal to s2 would show in s2's generation already.
    assert {store_id: a.generation(store_id) for store_id in ("s1", "s2")} == {
        "s1": before["s1"] + 1,
        "s2": before["s2"],
    }


async def test_change_to_every_store_reaches_every_subscription(
    two_replicas: tuple[DatabaseNotifier, DatabaseNotifier],
) -> None:
    """A change to all stores (None) on B wakes A's subscriptions of any store."""
    a, b = two_replicas
    subscription = a.subscribe("any-store")
    b.notify(None)
    assert await subscription.wait(timeout_s=5.0)


async def test_own_change_is_signalled_once(two_replicas: tuple[DatabaseNotifier, DatabaseNotifier]) -> None:
    """The replica that made a change signals its streams at once, and not again when it reads the counter back."""
    a, _ = two_replicas
    subscription = a.subscribe("s1")
    before = a.generation("s1")
    a.notify(["s1"])
    # Signalled in notify's own step, before any round trip to the database.
    assert a.generation("s1") == before + 1
    assert await subscription.wait(timeout_s=5.0)
    signalled = a.generation("s1")
    await a.flush()
    await a.poll()
    # poll() signals what it reads before it returns; a second signal would have grown the generation.
    assert a.generation("s1") == signalled


@pytest.mark.postgres
async def test_listener_reconnects_after_losing_its_connection() -> None:
    """When the LISTEN connection is killed, the replica reconnects and still hears later changes."""
    from tests.storage_engines import fresh_pg_dsn

    with fresh_pg_dsn() as dsn:
        dbs = [await Database.open(dsn) for _ in range(2)]
        a, b = (DatabaseNotifier(db, poll_interval_s=SLOW_POLL_S) for db in dbs)
        await a.start()
        await b.start()
        try:
            name = dsn.rsplit("/", 1)[1]
            with psycopg.connect(pg_dsn("test"), autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND query LIKE 'LISTEN%%'",
                    (name,),
                ).fetchall()
            assert killed
            subscription = a.subscribe("s1")
            b.notify(["s1"])
            assert await subscription.wait(timeout_s=5.0)
        finally:
            for notifier in (a, b):
                await notifier.stop()
            for db in dbs:
                await db.close()
