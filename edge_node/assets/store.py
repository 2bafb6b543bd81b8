"""The edge's assets in LMDB (a separate environment under data_dir/assets), keyed by sha256.

Every method runs one whole LMDB transaction and never awaits; reads are microseconds, writes run
in a worker thread (``asyncio.to_thread``). ``edge_node.lmdb_env`` keeps ``close`` from racing them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from pathlib import Path

from cartads.v1.asset_pb2 import Asset
from edge_node.config import EdgeConfig
from edge_node.lmdb_env import LmdbEnv


class AssetStore:
    """Images this store's index shows, verified against their hash before they are kept."""

    def __init__(self, env: LmdbEnv) -> None:
        self._env = env

    @classmethod
    def open(cls, config: EdgeConfig) -> AssetStore:
        """Open (creating) the asset environment under ``data_dir/assets``."""
        env = LmdbEnv.open(
            Path(config.data_dir) / "assets",
            "asset store",
            map_size_bytes=config.asset_map_size_bytes,
            max_readers=config.max_readers,
        )
        return cls(env)

    def get(self, sha256: str) -> Asset | None:
        """The asset named ``sha256``, None when this edge does not hold it."""
        with self._env.transaction() as txn:
            raw = txn.get(sha256.encode("ascii"))
        if raw is None:
            return None
        asset = Asset()
        asset.ParseFromString(raw)
        return asset

    def missing(self, sha256s: Iterable[str]) -> list[str]:
        """Of ``sha256s``, those not held, sorted."""
        with self._env.transaction() as txn:
            return sorted({s for s in sha256s if txn.get(s.encode("ascii")) is None})

    def put_many(self, assets: Iterable[Asset]) -> None:
        """Keep ``assets`` (each already verified) in one durable write transaction."""
        with self._env.transaction(write=True) as txn:
            for asset in assets:
                txn.put(asset.sha256.encode("ascii"), asset.SerializeToString())

    def retain_only(self, keep: Collection[str]) -> list[str]:
        """Delete every asset not in ``keep``; returns the deleted hashes."""
        with self._env.transaction(write=True) as txn:
            doomed = [k.decode("ascii") for k, _ in txn.cursor() if k.decode("ascii") not in keep]
            for sha in doomed:
                txn.delete(sha.encode("ascii"))
        return doomed

    def hashes(self) -> list[str]:
        """Every held asset's hash, sorted."""
        with self._env.transaction() as txn:
            return [k.decode("ascii") for k in txn.cursor().iternext(keys=True, values=False)]

    def close(self) -> None:
        """Close the environment; idempotent."""
        self._env.close()


def verified(asset: Asset) -> bool:
    """Whether the asset's bytes are what its name says."""
    return hashlib.sha256(asset.data).hexdigest() == asset.sha256
