"""IndexCache: one compile per change for all of a store's streams, a bounded history for deltas."""

from __future__ import annotations

import asyncio
import hashlib

from cartads.v1 import index_pb2
from cloud_core.sync.index_cache import IndexCache, encode_snapshot
from cloud_core.sync.notifier import InProcessNotifier
from tests.edge_node.helpers import line_item, make_index

STORE = "store-1"


class Compiler:
    """Counts compiles; each compile returns the next prepared version."""

    def __init__(self, versions: list[index_pb2.StoreIndex]) -> None:
        self.versions = versions
        self.compiles = 0

    async def __call__(self, store_id: str) -> index_pb2.StoreIndex:
        # A compile does not finish in the step it starts: callers arriving meanwhile find it in flight.
        await asyncio.sleep(0)
        index = self.versions[min(self.compiles, len(self.versions) - 1)]
        self.compiles += 1
        return index


V = [make_index([line_item(f"li{k}")], {"all": [f"li{k}"]}) for k in range(4)]


async def test_concurrent_streams_share_one_compile() -> None:
    """Many callers at once cause one compile and all get its result."""
    compiler, notifier = Compiler(V), InProcessNotifier()
    cache = IndexCache(compiler, notifier.generation, history_versions=2, chunk_bytes=1024)
    results = await asyncio.gather(*(cache.current(STORE) for _ in range(20)))
    assert compiler.compiles == 1
    assert {r.version for r in results if r is not None} == {V[0].version}


async def test_change_causes_recompile() -> None:
    """A change signalled for the store makes the next call compile again; no change, no compile."""
    compiler, notifier = Compiler(V), InProcessNotifier()
    cache = IndexCache(compiler, notifier.generation, history_versions=2, chunk_bytes=1024)
    await cache.current(STORE)
    await cache.current(STORE)
    assert compiler.compiles == 1
    notifier.notify([STORE])
    assert (await cache.current(STORE)) is V[1]
    assert compiler.compiles == 2


async def test_delta_needs_base_in_history() -> None:
    """A delta is available from a recent version, not from one pushed out of the bounded history."""
    compiler, notifier = Compiler(V), InProcessNotifier()
    cache = IndexCache(compiler, notifier.generation, history_versions=2, chunk_bytes=1024)
    for _ in range(3):
        await cache.current(STORE)
        notifier.notify([STORE])
    current = await cache.current(STORE)
    assert current is V[3]
    assert cache.delta(STORE, V[2].version, current) is not None
    assert cache.delta(STORE, V[0].version, current) is None


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
