"""The edge's assets in LMDB (a separate environment under data_dir/assets), keyed by sha256.

Every method runs one whole LMDB transaction and never awaits; reads are microseconds, writes run
in a worker thread (``asyncio.to_thread``). A lock keeps ``close`` from racing a running transaction.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection, Iterable
from pathlib import Path

import lmdb

from cartads.v1.asset_pb2 import Asset
from edge_node.config import EdgeConfig
from edge_node.errors import StoreClosedError


class AssetStore:
    """Images this store's index shows, verified against their hash before they are kept."""

    def __init__(self, env: lmdb.Environment) -> None:
        self._env: lmdb.Environment | None = env
        self._lock = threading.Lock()

    @classmethod
    def open(cls, config: EdgeConfig) -> AssetStore:
        """Open (creating) the asset environment under ``data_dir/assets``."""
        path = Path(config.data_dir) / "assets"
        path.mkdir(parents=True, exist_ok=True)
        env = lmdb.open(str(path), map_size=config.asset_map_size_bytes, max_readers=config.max_readers)
        env.reader_check()
        return cls(env)

    def _require_env(self) -> lmdb.Environment:
        if self._env is None:
            raise StoreClosedError("asset store is closed")
        return self._env

    def get(self, sha256: str) -> Asset | None:
        """The asset named ``sha256``, None when this edge does not hold it."""
        with self._lock, self._require_env().begin() as txn:
            raw = txn.get(sha256.encode("ascii"))
        if raw is None:
            return None
        asset = Asset()
        asset.ParseFromString(raw)
        return asset

    def missing(self, sha256s: Iterable[str]) -> list[str]:
        """Of ``sha256s``, those not held, sorted."""
        with self._lock, self._require_env().begin() as txn:
            return sorted({s for s in sha256s if txn.get(s.encode("ascii")) is None})

    def put_many(self, assets: Iterable[Asset]) -> None:
        """Keep ``assets`` (each already verified) in one durable write transaction."""
        with self._lock, self._require_env().begin(write=True) as txn:
            for asset in assets:
                txn.put(asset.sha256.encode("ascii"), asset.SerializeToString())

    def retain_only(self, keep: Collection[str]) -> list[str]:
        """Delete every asset not in ``keep``; returns the deleted hashes."""
        with self._lock, self._require_env().begin(write=True) as txn:
            doomed = [k.decode("ascii") for k, _ in txn.cursor() if k.decode("ascii") not in keep]
            for sha in doomed:
                txn.delete(sha.encode("ascii"))
        return doomed

    def hashes(self) -> list[str]:
        """Every held asset's hash, sorted."""
        with self._lock, self._require_env().begin() as txn:
            return [k.decode("ascii") for k in txn.cursor().iternext(keys=True, values=False)]

    def close(self) -> None:
        """Close the environment; idempotent."""
        with self._lock:
            if self._env is not None:
                self._env.close()
                self._env = None


def verified(asset: Asset) -> bool:
    """Whether the asset's bytes are what its name says."""
    return hashlib.sha256(asset.data).hexdigest() == asset.sha256
