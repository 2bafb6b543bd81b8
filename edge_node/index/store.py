"""The store's index in LMDB: the current snapshot and its version, replaced in one write transaction.

Every method runs one whole LMDB transaction and never awaits, so callers run them with
``asyncio.to_thread``; ``edge_node.lmdb_env`` keeps ``close`` from racing one still running.
"""

from __future__ import annotations

from pathlib import Path

import lmdb
from google.protobuf.message import DecodeError

from cartads.index.delta import DeltaError, apply_delta
from cartads.v1.index_pb2 import StoreIndex
from cartads.v1.index_sync_pb2 import IndexDelta
from edge_node.config import EdgeConfig
from edge_node.errors import IndexRejectedError
from edge_node.index.check import IndexCheckError, check_index
from edge_node.lmdb_env import LmdbEnv

_SNAPSHOT_KEY = b"snapshot"
_VERSION_KEY = b"version"


class IndexStore:
    """The last good index of one store, durable across restarts."""

    def __init__(self, env: LmdbEnv, store_id: str, max_index_bytes: int = 0) -> None:
        self._env = env
        self._store_id = store_id
        self._max_index_bytes = max_index_bytes or env.require().info()["map_size"] // 2

    @classmethod
    def open(cls, config: EdgeConfig) -> IndexStore:
        """Open (creating) the index environment under ``data_dir/index``."""
        env = LmdbEnv.open(
            Path(config.data_dir) / "index",
            "index store",
            map_size_bytes=config.index_map_size_bytes,
            max_readers=config.max_readers,
        )
        return cls(env, config.store_id, config.index_cap_bytes)

    def load(self) -> StoreIndex | None:
        """The stored index, or None when there is none; raises IndexRejectedError if it is damaged."""
        with self._env.transaction() as txn:
            raw = txn.get(_SNAPSHOT_KEY)
            version = txn.get(_VERSION_KEY)
        if raw is None or version is None:
            return None
        index = StoreIndex()
        try:
            index.ParseFromString(raw)
        except DecodeError as exc:
            raise IndexRejectedError("stored index does not parse") from exc
        index.version = self._check(index, version.decode())
        return index

    def apply(self, snapshot: StoreIndex, announced_version: str) -> StoreIndex:
        """Verify ``snapshot`` and make it current; raises IndexRejectedError (nothing written) if bad."""
        version = self._check(snapshot, announced_version)
        index = StoreIndex()
        index.CopyFrom(snapshot)
        index.version = version
        raw = self._serialize_capped(index)
        # Snapshot and version in one transaction: a crash leaves the old pair or the new one.
        with self._env.transaction(write=True) as txn:
            self._put(txn, raw, version)
        return index

    def apply_delta(self, delta: IndexDelta, announced_version: str) -> StoreIndex:
        """Apply ``delta`` to the stored index in one write transaction; the result must hash to
        ``announced_version``. Raises IndexRejectedError (nothing written) otherwise."""
        with self._env.transaction(write=True) as txn:
            raw = txn.get(_SNAPSHOT_KEY)
            stored_version = txn.get(_VERSION_KEY)
            if raw is None or stored_version is None:
                raise IndexRejectedError("delta received but no index is held")
            base = StoreIndex()
            try:
                base.ParseFromString(raw)
            except DecodeError as exc:
                raise IndexRejectedError("stored index does not parse") from exc
            base.version = stored_version.decode()
            try:
                merged = apply_delta(base, delta)
            except DeltaError as exc:
                raise IndexRejectedError(str(exc)) from exc
            # Raising inside the block aborts the transaction: a bad delta writes nothing.
            version = self._check(merged, announced_version, delta)
            merged.version = version
            self._put(txn, self._serialize_capped(merged), version)
        return merged

    def _check(self, index: StoreIndex, announced_version: str, delta: IndexDelta | None = None) -> str:
        try:
            return check_index(index, announced_version, self._store_id, delta)
        except IndexCheckError as exc:
            raise IndexRejectedError(str(exc)) from exc

    def _serialize_capped(self, index: StoreIndex) -> bytes:
        raw = index.SerializeToString(deterministic=True)
        if len(raw) > self._max_index_bytes:
            raise IndexRejectedError(
                f"snapshot of {len(raw)} bytes is too big for the map (cap {self._max_index_bytes} bytes)"
            )
        return raw

    @staticmethod
    def _put(txn: lmdb.Transaction, raw: bytes, version: str) -> None:
        try:
            txn.put(_SNAPSHOT_KEY, raw)
            txn.put(_VERSION_KEY, version.encode())
        except lmdb.MapFullError as exc:
            raise IndexRejectedError(f"index of {len(raw)} bytes does not fit the LMDB map") from exc

    def close(self) -> None:
        """Close the environment; later calls raise StoreClosedError."""
        self._env.close()
