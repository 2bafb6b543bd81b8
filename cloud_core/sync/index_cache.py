"""Compiled indexes shared by every stream of a store: one compile per change, not one per edge,
and each update encoded once, all within a memory budget.

The versions themselves live in the database (``storage/replicas/index_versions.py``, through ``VersionSource``):
this cache holds, per store, only which version is current, and keeps parsed indexes, encoded
snapshots and deltas in one byte-bounded LRU. A version it let go is loaded again when asked for
(the base of a delta, a current version evicted by busier stores), so a replica's memory stays flat
however many stores and versions it serves.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from cartads.index.delta import compute_delta
from cartads.v1 import index_pb2, index_sync_pb2
from cloud_core.sync.byte_lru import ByteLru

# (store_id, max_age_s) -> the store's current version no older than that (compiled and stored, so
# VersionSource can load it), None when the store does not exist.
Compile = Callable[[str, float], Awaitable[str | None]]
Generation = Callable[[str], int]
# A parsed StoreIndex takes about 7x its serialized size in memory (upb arenas; measured on a
# 3,000 line item index), so it is charged to the budget at that rate.
PARSED_BYTES_PER_SERIALIZED = 7
# Sizes remembered (a few ints each); far more than the stores one replica serves.
_SIZES_KEPT = 65_536


class VersionSource(Protocol):
    async def load(self, store_id: str, version: str) -> index_pb2.StoreIndex | None:
        """Stored version ``version`` of the store, None when it is not stored (any more)."""
        ...


@dataclass(frozen=True)
class FullSnapshot:
    """One version serialized once, cut into chunk payloads, with its checksum."""

    version: str
    sha256: str
    total_bytes: int
    chunks: tuple[bytes, ...]

    def responses(self, nonce: str) -> list[index_sync_pb2.StreamIndexResponse]:
        """The stream messages that carry this snapshot as one update."""
        count = len(self.chunks)
        return [
            index_sync_pb2.StreamIndexResponse(
                version=self.version,
                nonce=nonce,
                chunk=index_sync_pb2.SnapshotChunk(
                    chunk_index=i, chunk_count=count, total_bytes=self.total_bytes, sha256=self.sha256, data=data
                ),
            )
            for i, data in enumerate(self.chunks)
        ]


def encode_snapshot(index: index_pb2.StoreIndex, chunk_bytes: int) -> FullSnapshot:
    """Serialize ``index`` and cut it into chunks of at most ``chunk_bytes``."""
    raw = index.SerializeToString(deterministic=True)
    chunks = tuple(raw[i : i + chunk_bytes] for i in range(0, len(raw), chunk_bytes)) or (b"",)
    return FullSnapshot(index.version, hashlib.sha256(raw).hexdigest(), len(raw), chunks)


@dataclass
class _StoreEntry:
    # "" when the store did not exist at the last compile.
    version: str = ""
    generation: int = -1
    compiled_at_s: float = 0.0
    inflight: asyncio.Future[tuple[str | None, int]] | None = None


_Key = tuple[str, ...]


class IndexCache:
    """Per store: which version is current; parsed versions, snapshots and deltas within ``cache_bytes``."""

    def __init__(
        self,
        compile_index: Compile,
        generation: Generation,
        versions: VersionSource,
        *,
        cache_bytes: int,
        chunk_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compile = compile_index
        self._generation = generation
        self._versions = versions
        self._chunk_bytes = chunk_bytes
        self._clock = clock
        self._stores: dict[str, _StoreEntry] = {}
        self._lru: ByteLru[_Key, object] = ByteLru(cache_bytes)
        self._sizes: OrderedDict[tuple[str, str], int] = OrderedDict()

    @property
    def held_bytes(self) -> int:
        """What the cache holds now, as charged to its budget."""
        return self._lru.size_bytes

    def current_version(self, store_id: str) -> str:
        """The latest compiled version of the store, "" when none was compiled yet."""
        entry = self._stores.get(store_id)
        return entry.version if entry is not None else ""

    async def current(self, store_id: str, max_age_s: float = float("inf")) -> index_pb2.StoreIndex | None:
        """The store's index, compiled again only after a change (or when older than ``max_age_s``).

        Concurrent callers share one compile; None when the store does not exist.
        """
        while True:
            version = await self.current_version_of(store_id, max_age_s)
            if version is None:
                return None
            index = await self.version(store_id, version)
            if index is not None:
                return index
            # Evicted here and pruned from the database meanwhile: compile afresh.
            self.forget(store_id)

    async def current_version_of(self, store_id: str, max_age_s: float = float("inf")) -> str | None:
        """The store's current version (compiled again only after a change, or when older than
        ``max_age_s``), None when the store does not exist. Loads nothing: a stream whose edge holds
        this version needs no index at all."""
        entry = self._stores.setdefault(store_id, _StoreEntry())
        while True:
            wanted = self._generation(store_id)
            fresh = self._clock() - entry.compiled_at_s <= max_age_s
            if entry.generation == wanted and fresh and entry.inflight is None:
                return entry.version or None
            if entry.inflight is not None:
                version, generation = await asyncio.shield(entry.inflight)
                if generation >= self._generation(store_id):
                    return version
                continue
            return await self._compile_now(store_id, entry, wanted, max_age_s)

    def forget(self, store_id: str) -> None:
        """Compile the store again at the next ask (its current version could not be loaded)."""
        entry = self._stores.get(store_id)
        if entry is not None:
            entry.generation = -1

    async def _compile_now(self, store_id: str, entry: _StoreEntry, generation: int, max_age_s: float) -> str | None:
        future: asyncio.Future[tuple[str | None, int]] = asyncio.get_running_loop().create_future()
        entry.inflight = future
        try:
            version = await self._compile(store_id, max_age_s)
        except BaseException as exc:
            entry.inflight = None
            future.set_exception(exc)
            # Nobody may be waiting; mark the exception retrieved so it is not reported as lost.
            future.exception()
            raise
        entry.inflight = None
        entry.version = version or ""
        entry.generation, entry.compiled_at_s = generation, self._clock()
        future.set_result((version, generation))
        return version

    def keep(self, store_id: str, index: index_pb2.StoreIndex) -> None:
        """Hold a just compiled ``index`` while the budget allows (its streams are about to push it)."""
        self._keep_parsed(store_id, index)

    def _keep_parsed(self, store_id: str, index: index_pb2.StoreIndex) -> None:
        size = self.size_bytes(store_id, index)
        self._lru.put(("index", store_id, index.version), index, size * PARSED_BYTES_PER_SERIALIZED)

    async def version(self, store_id: str, version: str) -> index_pb2.StoreIndex | None:
        """Version ``version`` of the store: from memory, else from the database; None when neither has it."""
        found = self._lru.get(("index", store_id, version))
        if isinstance(found, index_pb2.StoreIndex):
            return found
        loaded = await self._versions.load(store_id, version)
        if loaded is not None:
            self._keep_parsed(store_id, loaded)
        return loaded

    @property
    def chunk_bytes(self) -> int:
        """The largest payload of one snapshot chunk."""
        return self._chunk_bytes

    def size_bytes(self, store_id: str, index: index_pb2.StoreIndex) -> int:
        """The serialized size of ``index``, computed once per version."""
        key = (store_id, index.version)
        found = self._sizes.get(key)
        if found is None:
            found = self._sizes[key] = index.ByteSize()
            while len(self._sizes) > _SIZES_KEPT:
                self._sizes.popitem(last=False)
        return found

    def snapshot(self, store_id: str, index: index_pb2.StoreIndex) -> FullSnapshot:
        """``index`` encoded for the stream, computed once per version while it stays in memory."""
        key = ("snapshot", store_id, index.version)
        found = self._lru.get(key)
        if isinstance(found, FullSnapshot):
            return found
        snapshot = encode_snapshot(index, self._chunk_bytes)
        self._lru.put(key, snapshot, snapshot.total_bytes)
        return snapshot

    async def delta(
        self, store_id: str, base_version: str, index: index_pb2.StoreIndex
    ) -> index_sync_pb2.IndexDelta | None:
        """The delta from ``base_version`` to ``index``, or None when that base is no longer stored."""
        key = ("delta", store_id, base_version, index.version)
        found = self._lru.get(key)
        if isinstance(found, index_sync_pb2.IndexDelta):
            return found
        base = await self.version(store_id, base_version)
        if base is None:
            return None
        # On the loop, as before: concurrent streams of the store then find it computed.
        delta = compute_delta(base, index)
        self._lru.put(key, delta, delta.ByteSize())
        return delta
