"""The edge's LMDB environments: opened with their options, transactions under one lock, closed once."""

from __future__ import annotations

from pathlib import Path

import lmdb
import pytest

from edge_node.errors import StoreClosedError
from edge_node.lmdb_env import LmdbEnv

MAP_SIZE = 1 << 22


def _open(tmp_path: Path, max_dbs: int = 0) -> LmdbEnv:
    return LmdbEnv.open(tmp_path / "env", "test store", map_size_bytes=MAP_SIZE, max_readers=8, max_dbs=max_dbs)


def test_open_creates_the_folder_with_the_given_options(tmp_path: Path) -> None:
    """The folder is created, and map size, reader slots and named databases are the ones asked for."""
    env = _open(tmp_path, max_dbs=2)
    try:
        raw = env.require()
        assert (tmp_path / "env").is_dir()
        assert (raw.info()["map_size"], raw.max_readers()) == (MAP_SIZE, 8)
        raw.open_db(b"one")
        raw.open_db(b"two")
        with pytest.raises(lmdb.DbsFullError):
            raw.open_db(b"three")
    finally:
        env.close()


def test_a_write_commits_when_its_block_ends(tmp_path: Path) -> None:
    """What a write transaction put is there for the next one."""
    env = _open(tmp_path)
    try:
        with env.transaction(write=True) as txn:
            txn.put(b"k", b"v")
        with env.transaction() as txn:
            assert txn.get(b"k") == b"v"
    finally:
        env.close()


def _put_then_fail(env: LmdbEnv) -> None:
    with env.transaction(write=True) as txn:
        txn.put(b"k", b"v")
        raise RuntimeError("refused")


def test_a_write_that_raises_writes_nothing(tmp_path: Path) -> None:
    """An error inside a write transaction aborts it: nothing of it is kept."""
    env = _open(tmp_path)
    try:
        with pytest.raises(RuntimeError, match="refused"):
            _put_then_fail(env)
        with env.transaction() as txn:
            assert txn.get(b"k") is None
    finally:
        env.close()


def test_every_use_after_close_names_the_closed_store(tmp_path: Path) -> None:
    """After close, require, locked and transaction raise StoreClosedError naming the store."""
    env = _open(tmp_path)
    env.close()
    with pytest.raises(StoreClosedError, match="test store is closed"):
        env.require()
    with pytest.raises(StoreClosedError, match="test store is closed"), env.locked():
        pass
    with pytest.raises(StoreClosedError, match="test store is closed"), env.transaction():
        pass


def test_close_twice_is_harmless(tmp_path: Path) -> None:
    """A second close does nothing (stores close on every shutdown path)."""
    env = _open(tmp_path)
    env.close()
    env.close()
    with pytest.raises(StoreClosedError):
        env.require()


def test_reopening_keeps_what_was_committed(tmp_path: Path) -> None:
    """A committed write survives closing and opening the environment again."""
    env = _open(tmp_path)
    with env.transaction(write=True) as txn:
        txn.put(b"k", b"v")
    env.close()
    again = _open(tmp_path)
    try:
        with again.transaction() as txn:
            assert txn.get(b"k") == b"v"
    finally:
        again.close()
