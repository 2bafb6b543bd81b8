"""IndexCache: one compile per change for all of a store's streams, versions within a byte budget."""

from __future__ import annotations

import asyncio
import hashlib

from cartads.v1 import index_pb2
from cloud_core.sync.index_cache import PARSED_BYTES_PER_SERIALIZED, IndexCache, encode_snapshot
from cloud_core.sync.notifier import InProcessNotifier
from tests.cloud_core.sync.index_fakes import MemoryVersions
from tests.edge_node.helpers import line_item, make_index

STORE = "store-1"


class Compiler:
    """Counts compiles; each compile returns the next prepared version (and stores it, as the
    shared index store does)."""

    def __init__(self, versions: list[index_pb2.StoreIndex], stored: MemoryVersions) -> None:
        self.versions = versions
        self.stored = stored
        self.compiles = 0

    async def __call__(self, store_id: str, max_age_s: float) -> str:
        # A compile does not finish in the step it starts: callers arriving meanwhile find it in flight.
        await asyncio.sleep(0)
        index = self.versions[min(self.compiles, len(self.versions) - 1)]
        self.compiles += 1
        return self.stored.keep(store_id, index).version


V = [make_index([line_item(f"li{k}")], {"all": [f"li{k}"]}) for k in range(4)]


def _cache(compiler: Compiler, notifier: InProcessNotifier, cache_bytes: int = 64 << 20) -> IndexCache:
    return IndexCache(compiler, notifier.generation, compiler.stored, cache_bytes=cache_bytes, chunk_bytes=1024)


async def test_concurrent_streams_share_one_compile() -> None:
    """Many callers at once cause one compile and all get its result."""
    notifier = InProcessNotifier()
    compiler = Compiler(V, MemoryVersions())
    cache = _cache(compiler, notifier)
    results = await asyncio.gather(*(cache.current(STORE) for _ in range(20)))
    assert compiler.compiles == 1
    assert {r.version for r in results if r is not None} == {V[0].version}


async def test_change_causes_recompile() -> None:
    """A change signalled for the store makes the next call compile again; no change, no compile."""
    notifier = InProcessNotifier()
    compiler = Compiler(V, MemoryVersions())
    cache = _cache(compiler, notifier)
    await cache.current(STORE)
    await cache.current(STORE)
    assert compiler.compiles == 1
    notifier.notify([STORE])
    changed = await cache.current(STORE)
    assert changed is not None
    assert changed.version == V[1].version
    assert compiler.compiles == 2


async def test_delta_needs_base_in_store() -> None:
    """With nothing held in memory, a delta is made from a version still stored, not from one the
    store no longer holds."""
    notifier = InProcessNotifier()
    compiler = Compiler(V, MemoryVersions())
    cache = _cache(compiler, notifier, cache_bytes=0)
    for _ in range(3):
        await cache.current(STORE)
        notifier.notify([STORE])
    current = await cache.current(STORE)
    assert current is not None
    assert current.version == V[3].version
    del compiler.stored.stored[(STORE, V[0].version)]
    assert await cache.delta(STORE, V[2].version, current) is not None
    assert await cache.delta(STORE, V[0].version, current) is None


async def test_memory_stays_within_the_budget() -> None:
    """Versions of many stores do not accumulate beyond the byte budget: what is evicted is loaded again."""
    notifier = InProcessNotifier()
    stored = MemoryVersions()
    big = [
        make_index([line_item(f"li{k}-{i}") for i in range(30)], {"all": [f"li{k}-{i}" for i in range(30)]})
        for k in range(4)
    ]
    budget = 3 * big[0].ByteSize() * PARSED_BYTES_PER_SERIALIZED
    cache = _cache(Compiler(big, stored), notifier, cache_bytes=budget)
    for k in range(20):
        index = await cache.current(f"store-{k}")
        assert index is not None
        cache.snapshot(f"store-{k}", index)
        assert cache.held_bytes <= budget
    loads = stored.loads
    again = await cache.current("store-0")
    assert again is not None
    assert again.version == big[0].version
    assert stored.loads == loads + 1


async def test_a_current_version_gone_from_memory_and_store_is_compiled_again() -> None:
    """When the current version is neither in memory nor stored any more, the store compiles afresh."""
    notifier = InProcessNotifier()
    compiler = Compiler(V, MemoryVersions())
    cache = _cache(compiler, notifier, cache_bytes=0)
    await cache.current(STORE)
    compiler.stored.stored.clear()
    again = await cache.current(STORE)
    assert again is not None
    assert again.version == V[1].version
    assert compiler.compiles == 2


def test_snapshot_chunks_carry_checksum_of_the_whole() -> None:
    """A snapshot is cut into chunks no larger than asked, all naming the sha256 of the whole."""
    index = make_index([line_item(f"li{i}") for i in range(40)], {"all": [f"li{i}" for i in range(40)]})
    raw = index.SerializeToString(deterministic=True)
    snapshot = encode_snapshot(index, chunk_bytes=100)
    responses = snapshot.responses("n1")
    assert len(responses) == -(-len(raw) // 100)
    assert all(len(r.chunk.data) <= 100 for r in responses)
    assert b"".join(r.chunk.data for r in responses) == raw
    assert {r.chunk.sha256 for r in responses} == {hashlib.sha256(raw).hexdigest()}
