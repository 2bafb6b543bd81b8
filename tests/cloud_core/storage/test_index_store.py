"""The shared index store (compiled versions, heads, compile leases) and replica heartbeats, on both engines."""

from __future__ import annotations

import sqlalchemy as sa

from cartads.time_units import now_us
from cloud_core.storage import schema as t
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.storage.protocol import StoredIndex
from cloud_core.storage.sql.rows import count_index_changes

S = 1_000_000


def _stored(store_id: str, version: str, generation: int, at_us: int) -> StoredIndex:
    return StoredIndex(store_id, version, generation, at_us, f"{store_id}/{version}".encode())


async def test_a_lease_is_exclusive_until_it_expires(store: SqlCloudStore) -> None:
    """A store's compile lease goes to one replica; another gets it only once it expired."""
    leases = store.index_versions
    assert await leases.try_leases(["s1", "s2"], "a", 100 * S, 10 * S) == {"s1", "s2"}
    assert await leases.try_leases(["s1", "s3"], "b", 105 * S, 10 * S) == {"s3"}
    assert await leases.try_leases(["s1"], "a", 106 * S, 10 * S) == {"s1"}
    assert await leases.try_leases(["s1"], "b", 117 * S, 10 * S) == {"s1"}


async def test_released_lease_is_free_at_once(store: SqlCloudStore) -> None:
    """A lease given up (a failed compile) can be taken by another replica before its expiry."""
    leases = store.index_versions
    await leases.try_leases(["s1"], "a", 100 * S, 10 * S)
    await leases.release_leases(["s1"], "b")
    assert await leases.try_leases(["s1"], "b", 101 * S, 10 * S) == set()
    await leases.release_leases(["s1"], "a")
    assert await leases.try_leases(["s1"], "b", 101 * S, 10 * S) == {"s1"}


async def test_saved_version_becomes_head_and_releases_the_lease(store: SqlCloudStore) -> None:
    """Saving a compile stores its bytes, makes it the head with its generation, and frees the lease."""
    versions = store.index_versions
    await versions.try_leases(["s1"], "a", 100 * S, 10 * S)
    await versions.save([_stored("s1", "v1", 3, 101 * S)], "a", keep_versions=4)
    _, heads = await versions.generations_and_heads(["s1", "s2"])
    assert heads["s1"].version == "v1"
    assert heads["s1"].generation == 3
    assert "s2" not in heads
    assert await versions.load("s1", "v1") == b"s1/v1"
    assert await versions.try_leases(["s1"], "b", 102 * S, 10 * S) == {"s1"}


async def test_only_the_newest_versions_are_kept(store: SqlCloudStore) -> None:
    """Each store keeps its newest ``keep_versions`` versions; older ones are no longer loadable."""
    versions = store.index_versions
    for k in range(5):
        await versions.save([_stored("s1", f"v{k}", k, (100 + k) * S)], "a", keep_versions=2)
    assert await versions.load("s1", "v2") is None
    assert await versions.load("s1", "v3") == b"s1/v3"
    assert await versions.load("s1", "v4") == b"s1/v4"


async def test_an_older_compile_never_replaces_a_newer_head(store: SqlCloudStore) -> None:
    """A slow replica storing a compile of an older generation leaves the newer head in place."""
    versions = store.index_versions
    await versions.save([_stored("s1", "new", 5, 200 * S)], "a", keep_versions=4)
    await versions.save([_stored("s1", "old", 4, 201 * S)], "b", keep_versions=4)
    _, heads = await versions.generations_and_heads(["s1"])
    assert heads["s1"].version == "new"


async def test_versions_are_kept_per_store(store: SqlCloudStore) -> None:
    """A version is loaded only under the store it was compiled for (an edge cannot name another's)."""
    versions = store.index_versions
    await versions.save([_stored("s1", "v1", 1, 100 * S)], "a", keep_versions=4)
    assert await versions.load("s2", "v1") is None


async def test_generation_counts_the_store_and_every_store_changes(store: SqlCloudStore) -> None:
    """A store's generation is its own change counter plus the every-store counter."""
    await store.db.write(lambda conn: count_index_changes(conn, ["s1", "s1", ""]))
    await store.db.write(lambda conn: count_index_changes(conn, ["s1", ""]))
    generations, _ = await store.index_versions.generations_and_heads(["s1", "s2"])
    assert generations == {"s1": 4, "s2": 2}


async def _connect_edge(store: SqlCloudStore, replica_id: str, edge_id: str) -> None:
    edges = SqlCloudStore(store.db, replica_id=replica_id).edges
    await edges.edge_connected("s1", edge_id, "", now_us())


async def _connected(store: SqlCloudStore) -> dict[str, bool]:
    c = t.edges.c
    rows = await store.db.read(lambda conn: list(conn.execute(sa.select(c.edge_id, c.connected))))
    return {str(e): bool(on) for e, on in rows}


async def test_edges_of_a_silent_replica_are_disconnected(store: SqlCloudStore) -> None:
    """Edges held by a replica whose last heartbeat is older than the timeout are marked disconnected;
    a live replica's stay connected."""
    replicas = store.replicas
    await replicas.beat("alive", 0, 100 * S)
    await replicas.beat("dead", 0, 80 * S)
    await _connect_edge(store, "alive", "e1")
    await _connect_edge(store, "dead", "e2")
    assert await replicas.disconnect_silent(100 * S, 15 * S) == 1
    assert await _connected(store) == {"e1": True, "e2": False}


async def test_edges_of_a_replica_that_never_beat_are_disconnected(store: SqlCloudStore) -> None:
    """An edge row naming a replica with no heartbeat at all (stopped, or from before heartbeats) is disconnected."""
    await _connect_edge(store, "ghost", "e1")
    assert await store.replicas.disconnect_silent(100 * S, 15 * S) == 1
    assert await _connected(store) == {"e1": False}


async def test_beat_returns_the_previous_heartbeat(store: SqlCloudStore) -> None:
    """A heartbeat reports the one before it (0 for the first), so a replica can see its own gap."""
    assert await store.replicas.beat("r", 1, 10 * S) == 0
    assert await store.replicas.beat("r", 1, 13 * S) == 10 * S


async def test_reconnect_marks_only_the_replicas_own_rows(store: SqlCloudStore) -> None:
    """Re-asserting live streams marks connected only rows this replica holds."""
    await _connect_edge(store, "r1", "e1")
    await _connect_edge(store, "r2", "e2")
    await store.replicas.disconnect_silent(100 * S, 15 * S)
    await store.replicas.reconnect("r1", [("s1", "e1"), ("s1", "e2")])
    assert await _connected(store) == {"e1": True, "e2": False}
