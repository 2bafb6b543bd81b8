"""Compiled indexes shared by every stream of a store: one compile per change, not one per edge,
a bounded history of recent versions to compute deltas from, and each update encoded once."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from cartads.index.delta import compute_delta
from cartads.v1 import index_pb2, index_sync_pb2

Compile = Callable[[str], Awaitable[index_pb2.StoreIndex | None]]
Generation = Callable[[str], int]


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
    index: index_pb2.StoreIndex | None = None
    generation: int = -1
    compiled_at_s: float = 0.0
    inflight: asyncio.Future[tuple[index_pb2.StoreIndex | None, int]] | None = None
    # version -> index, oldest first; the current version is the last entry.
    history: OrderedDict[str, index_pb2.StoreIndex] = field(default_factory=OrderedDict)
    snapshots: OrderedDict[str, FullSnapshot] = field(default_factory=OrderedDict)
    sizes: dict[str, int] = field(default_factory=dict)
    deltas: OrderedDict[tuple[str, str], index_sync_pb2.IndexDelta] = field(default_factory=OrderedDict)


class IndexCache:
    """Per store: the current compiled index, recent versions, encoded snapshots and deltas."""

    def __init__(
        self,
        compile_index: Compile,
        generation: Generation,
        *,
        history_versions: int,
        chunk_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compile = compile_index
        self._generation = generation
        self._history_versions = max(1, history_versions)
        self._chunk_bytes = chunk_bytes
        self._clock = clock
        self._stores: dict[str, _StoreEntry] = {}

    def current_version(self, store_id: str) -> str:
        """The latest compiled version of the store, "" when none was compiled yet."""
        entry = self._stores.get(store_id)
        return entry.index.version if entry is not None and entry.index is not None else ""

    async def current(self, store_id: str, max_age_s: float = float("inf")) -> index_pb2.StoreIndex | None:
        """The store's index, compiled again only after a change (or when older than ``max_age_s``).

        Concurrent callers share one compile; None when the store does not exist.
        """
        entry = self._stores.setdefault(store_id, _StoreEntry())
        while True:
            wanted = self._generation(store_id)
            fresh = self._clock() - entry.compiled_at_s <= max_age_s
            if entry.generation == wanted and fresh and entry.inflight is None:
                return entry.index
            if entry.inflight is not None:
                index, generation = await asyncio.shield(entry.inflight)
                if generation >= self._generation(store_id):
                    return index
                continue
            return await self._compile_now(store_id, entry, wanted)

    async def _compile_now(self, store_id: str, entry: _StoreEntry, generation: int) -> index_pb2.StoreIndex | None:
        future: asyncio.Future[tuple[index_pb2.StoreIndex | None, int]] = asyncio.get_running_loop().create_future()
        entry.inflight = future
        try:
            index = await self._compile(store_id)
        except BaseException as exc:
            entry.inflight = None
            future.set_exception(exc)
            # Nobody may be waiting; mark the exception retrieved so it is not reported as lost.
            future.exception()
            raise
        entry.inflight = None
        entry.index, entry.generation, entry.compiled_at_s = index, generation, self._clock()
        if index is not None:
            self._remember(entry, index)
        future.set_result((index, generation))
        return index

    def _remember(self, entry: _StoreEntry, index: index_pb2.StoreIndex) -> None:
        entry.history.pop(index.version, None)
        entry.history[index.version] = index
        while len(entry.history) > self._history_versions:
            entry.history.popitem(last=False)

    @property
    def chunk_bytes(self) -> int:
        """The largest payload of one snapshot chunk."""
        return self._chunk_bytes

    def size_bytes(self, store_id: str, index: index_pb2.StoreIndex) -> int:
        """The serialized size of ``index``, computed once per version."""
        entry = self._stores.setdefault(store_id, _StoreEntry())
        found = entry.sizes.get(index.version)
        if found is None:
            found = entry.sizes[index.version] = index.ByteSize()
            while len(entry.sizes) > self._history_versions:
                entry.sizes.pop(next(iter(entry.sizes)))
        return found

    def snapshot(self, store_id: str, index: index_pb2.StoreIndex) -> FullSnapshot:
        """``index`` encoded for the stream, computed once per version."""
        entry = self._stores.setdefault(store_id, _StoreEntry())
        found = entry.snapshots.get(index.version)
        if found is None:
            found = encode_snapshot(index, self._chunk_bytes)
            entry.snapshots[index.version] = found
            while len(entry.snapshots) > 2:
                entry.snapshots.popitem(last=False)
        return found

    def delta(self, store_id: str, base_version: str, index: index_pb2.StoreIndex) -> index_sync_pb2.IndexDelta | None:
        """The delta from ``base_version`` to ``index``, or None when that base is no longer held."""
        entry = self._stores.get(store_id)
        if entry is None:
            return None
        key = (base_version, index.version)
        found = entry.deltas.get(key)
        if found is not None:
            return found
        base = entry.history.get(base_version)
        if base is None:
            return None
        found = compute_delta(base, index)
        entry.deltas[key] = found
        while len(entry.deltas) > 4 * self._history_versions:
            entry.deltas.popitem(last=False)
        return found
