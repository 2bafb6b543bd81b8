"""The store's index in LMDB: the current snapshot and its version, replaced in one write transaction.

Every method runs one whole LMDB transaction and never awaits, so callers run them with
``asyncio.to_thread``; a lock keeps ``close`` from racing a transaction still running in a thread.
"""

from __future__ import annotations

import threading
from pathlib import Path

import lmdb
from google.protobuf.message import DecodeError

from cartads.index.delta import DeltaError, apply_delta
from cartads.v1.index_pb2 import StoreIndex
from cartads.v1.index_sync_pb2 import IndexDelta
from edge_node.config import EdgeConfig
from edge_node.errors import IndexRejectedError, StoreClosedError
from edge_node.index.check import IndexCheckError, check_index

_SNAPSHOT_KEY = b"snapshot"
_VERSION_KEY = b"version"


class IndexStore:
    """The last good index of one store, durable across restarts."""

    def __init__(self, env: lmdb.Environment, store_id: str, max_index_bytes: int = 0) -> None:
        self._env: lmdb.Environment | None = env
        self._store_id = store_id
        self._max_index_bytes = max_index_bytes or env.info()["map_size"] // 2
        self._lock = threading.Lock()

    @classmethod
    def open(cls, config: EdgeConfig) -> IndexStore:
        """Open (creating) the index environment under ``data_dir/index``."""
        path = Path(config.data_dir) / "index"
        path.mkdir(parents=True, exist_ok=True)
        env = lmdb.open(str(path), map_size=config.index_map_size_bytes, max_readers=config.max_readers)
        # Clear reader slots left by a process that died mid-read, or they pin old pages forever.
        env.reader_check()
        return cls(env, config.store_id, config.index_cap_bytes)

    def _require_env(self) -> lmdb.Environment:
        if self._env is None:
            raise StoreClosedError("index store is closed")
        return self._env

    def load(self) -> StoreIndex | None:
        """The stored index, or None when there is none; raises IndexRejectedError if it is damaged."""
        with self._lock:
            env = self._require_env()
            with env.begin() as txn:
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
        with self._lock:
            env = self._require_env()
            # Snapshot and version in one transaction: a crash leaves the old pair or the new one.
            with env.begin(write=True) as txn:
                self._put(txn, raw, version)
        return index

    def apply_delta(self, delta: IndexDelta, announced_version: str) -> StoreIndex:
        """Apply ``delta`` to the stored index in one write transaction; the result must hash to
        ``announced_version``. Raises IndexRejectedError (nothing written) otherwise."""
        with self._lock:
            env = self._require_env()
            with env.begin(write=True) as txn:
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
        with self._lock:
            if self._env is not None:
                self._env.close()
                self._env = None
