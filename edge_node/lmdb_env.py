"""An LMDB environment of the edge (journal, index, assets), opened and closed one way for all of them.

Each store keeps its own environment in a folder under ``data_dir`` and runs whole transactions in
worker threads (``asyncio.to_thread``). Every transaction holds the environment's lock, so ``close``
never races one still running in a thread; once closed, a use raises StoreClosedError.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lmdb

from edge_node.errors import StoreClosedError


class LmdbEnv:
    """One store's environment: opened with stale reader slots cleared, closed once under its lock."""

    def __init__(self, env: lmdb.Environment, name: str) -> None:
        self._env: lmdb.Environment | None = env
        # What StoreClosedError names: "journal", "index store", "asset store".
        self._name = name
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        path: Path,
        name: str,
        *,
        map_size_bytes: int,
        max_readers: int,
        max_dbs: int = 0,
        sync: bool = True,
        metasync: bool = True,
    ) -> LmdbEnv:
        """Open (creating) the environment in ``path``; ``sync``/``metasync`` as LMDB's (durable by default)."""
        path.mkdir(parents=True, exist_ok=True)
        env = lmdb.open(
            str(path), map_size=map_size_bytes, max_readers=max_readers, max_dbs=max_dbs, sync=sync, metasync=metasync
        )
        # Clear reader slots left by a process that died mid-read, or they pin old pages forever.
        env.reader_check()
        return cls(env, name)

    def require(self) -> lmdb.Environment:
        """The open environment; raises StoreClosedError once closed. Transactions take ``locked``."""
        if self._env is None:
            raise StoreClosedError(f"{self._name} is closed")
        return self._env

    @contextmanager
    def locked(self) -> Iterator[lmdb.Environment]:
        """The open environment, held for one or more transactions: ``close`` waits until they end."""
        with self._lock:
            yield self.require()

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[lmdb.Transaction[bytes]]:
        """One transaction under the lock; a write commits when the block ends and aborts if it raises."""
        with self._lock, self.require().begin(write=write) as txn:
            yield txn

    def close(self) -> None:
        """Close the environment (idempotent); later uses raise StoreClosedError."""
        with self._lock:
            if self._env is not None:
                self._env.close()
                self._env = None
