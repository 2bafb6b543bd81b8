"""SharedIndexes: replicas on one database compile each store once, serve what another compiled, and
take over a dead replica's compile lease; on both engines (NOTIFY wakes waiters on PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import pytest

from cartads.time_units import now_us
from cartads.v1 import index_pb2
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.storage.sql.rows import count_index_changes
from cloud_core.sync.db_notifier import DatabaseNotifier
from cloud_core.sync.shared_indexes import SharedIndexes, SharingSettings
from tests.edge_node.helpers import line_item, make_index

INF = float("inf")


class Builder:
    """Compiles a distinct version every time (so a second compile would show), optionally held at a gate."""

    # Shared by both replicas' builders: every compile anywhere.
    compiles: ClassVar[list[str]] = []

    def __init__(self, existing: Sequence[str] = ("s1", "s2")) -> None:
        self.existing = set(existing)
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()
        self.fail = False

    async def build_many(self, store_ids: Sequence[str]) -> dict[str, index_pb2.StoreIndex]:
        self.started.set()
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("compile failed")
        out = {}
        for store_id in store_ids:
            if store_id in self.existing:
                Builder.compiles.append(store_id)
                name = f"li-{store_id}-{len(Builder.compiles)}"
                out[store_id] = make_index([line_item(name)], {"all": [name]})
        return out


@dataclass
class Replica:
    store: SqlCloudStore
    notifier: DatabaseNotifier
    builder: Builder
    shared: SharedIndexes


@pytest.fixture
async def replicas(db_url: str) -> AsyncIterator[tuple[Replica, Replica]]:
    """Two replicas' shared index layers on one database (PostgreSQL: waiters read the heads again only
    when their 1 s lease period passes, so a prompt result there came by NOTIFY)."""
    Builder.compiles = []
    postgres = db_url.startswith("postgresql")
    made = []
    for name in ("a", "b"):
        store = await SqlCloudStore.open(db_url, replica_id=name)
        notifier = DatabaseNotifier(store.db, poll_interval_s=30.0 if postgres else 0.05)
        await notifier.start()
        builder = Builder()
        settings = SharingSettings(replica_id=name, lease_s=1.0, wait_poll_s=30.0 if postgres else 0.05)
        shared = SharedIndexes(
            store.index_versions, builder, flush=notifier.flush, signals=notifier.stored, settings=settings
        )
        made.append(Replica(store, notifier, builder, shared))
    try:
        yield made[0], made[1]
    finally:
        for replica in made:
            await replica.notifier.stop()
            await replica.store.close()


async def test_both_replicas_get_one_compile(replicas: tuple[Replica, Replica]) -> None:
    """Asked at once, the replicas compile the store once between them and both get that version."""
    a, b = replicas
    a.builder.gate.clear()
    first = asyncio.create_task(a.shared.resolve({"s1": INF}))
    await a.builder.started.wait()
    second = asyncio.create_task(b.shared.resolve({"s1": INF}))
    await asyncio.sleep(0.2)  # b finds the lease taken and waits (no event to await from outside)
    assert not second.done()
    a.builder.gate.set()
    got_a, got_b = await asyncio.wait_for(asyncio.gather(first, second), 10)
    assert Builder.compiles == ["s1"]
    assert got_a["s1"] == got_b["s1"]
    assert (a.shared.compiled, b.shared.compiled, b.shared.loaded) == (1, 0, 1)


async def test_a_replica_serves_what_another_compiled(replicas: tuple[Replica, Replica]) -> None:
    """A replica asked later loads the stored version rather than compiling."""
    a, b = replicas
    compiled = await a.shared.resolve({"s1": INF, "s2": INF})
    served = await b.shared.resolve({"s1": INF, "s2": INF})
    assert sorted(Builder.compiles) == ["s1", "s2"]
    assert served == compiled


async def test_a_change_makes_the_stored_version_stale(replicas: tuple[Replica, Replica]) -> None:
    """After a change is counted for the store, the next ask compiles again; other stores are untouched."""
    a, b = replicas
    before = await a.shared.resolve({"s1": INF, "s2": INF})
    await b.store.db.write(lambda conn: count_index_changes(conn, ["s1"]))
    after = await b.shared.resolve({"s1": INF, "s2": INF})
    assert sorted(Builder.compiles) == ["s1", "s1", "s2"]
    assert after["s1"] != before["s1"]
    assert after["s2"] == before["s2"]


async def test_a_change_notified_locally_is_counted_before_the_check(replicas: tuple[Replica, Replica]) -> None:
    """A change this replica only notified (not yet recorded) still makes the stored version stale."""
    a, b = replicas
    await a.shared.resolve({"s1": INF})
    b.notifier.notify(["s1"])
    await b.shared.resolve({"s1": INF})
    assert Builder.compiles == ["s1", "s1"]


async def test_an_old_version_is_compiled_again_when_asked_younger(replicas: tuple[Replica, Replica]) -> None:
    """A stored head older than the asked age is compiled again (budgets stay fresh)."""
    a, b = replicas
    await a.shared.resolve({"s1": INF})
    await asyncio.sleep(0.05)
    await b.shared.resolve({"s1": 0.01})
    assert Builder.compiles == ["s1", "s1"]


async def test_a_dead_holders_lease_is_taken_over(replicas: tuple[Replica, Replica]) -> None:
    """When the lease holder never stores a result, another replica compiles once the lease expires."""
    a, b = replicas
    await a.store.index_versions.try_leases(["s1"], "a", _now_us(), 500_000)
    got = await asyncio.wait_for(b.shared.resolve({"s1": INF}), 10)
    assert Builder.compiles == ["s1"]
    assert "s1" in got


async def test_a_failed_compile_frees_the_lease(replicas: tuple[Replica, Replica]) -> None:
    """A compile that fails releases its lease, so another replica compiles at once."""
    a, b = replicas
    a.builder.fail = True
    with pytest.raises(RuntimeError):
        await a.shared.resolve({"s1": INF})
    got = await asyncio.wait_for(b.shared.resolve({"s1": INF}), 0.9)
    assert Builder.compiles == ["s1"]
    assert "s1" in got


async def test_a_missing_store_resolves_to_nothing(replicas: tuple[Replica, Replica]) -> None:
    """A store that does not exist gets no index and leaves no lease behind."""
    a, b = replicas
    assert await a.shared.resolve({"nope": INF}) == {}
    assert await b.store.index_versions.try_leases(["nope"], "b", _now_us(), 1_000_000) == {"nope"}


def _now_us() -> int:
    return now_us()


async def test_a_served_version_loads_as_the_compiled_index(replicas: tuple[Replica, Replica]) -> None:
    """The version another replica compiled loads from the database byte for byte."""
    a, b = replicas
    kept: dict[str, index_pb2.StoreIndex] = {}
    a.shared.on_compiled = kept.__setitem__
    versions = await a.shared.resolve({"s1": INF})
    loaded = await b.shared.load("s1", versions["s1"])
    assert loaded is not None
    assert loaded.SerializeToString(deterministic=True) == kept["s1"].SerializeToString(deterministic=True)


async def test_many_stores_compile_in_bounded_batches(replicas: tuple[Replica, Replica]) -> None:
    """Stores resolved together are compiled at most ``compile_batch_stores`` per build_many call."""
    a, _ = replicas
    stores = [f"s{i}" for i in range(7)]
    batches: list[int] = []
    a.builder.existing = set(stores)
    build_many = a.builder.build_many

    async def counting(store_ids: Sequence[str]) -> dict[str, index_pb2.StoreIndex]:
        batches.append(len(store_ids))
        return await build_many(store_ids)

    a.builder.build_many = counting  # type: ignore[method-assign]
    shared = SharedIndexes(
        a.store.index_versions,
        a.builder,
        flush=a.notifier.flush,
        signals=a.notifier.stored,
        settings=SharingSettings(replica_id="a", compile_batch_stores=3),
    )
    versions = await shared.resolve(dict.fromkeys(stores, INF))
    assert sorted(versions) == stores
    assert batches == [3, 3, 1]
