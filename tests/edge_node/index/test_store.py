"""The LMDB index store: apply, reload, and refusal of updates that fail verification."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cartads.v1.index_pb2 import PostingList
from edge_node.errors import IndexRejectedError
from edge_node.index.store import IndexStore
from tests.edge_node.helpers import edge_config, line_item, make_index, version_of


@pytest.fixture
def index_store(tmp_path: Path) -> Iterator[IndexStore]:
    """An empty LMDB index store in tmp_path, closed after the test."""
    s = IndexStore.open(edge_config(tmp_path, 1))
    yield s
    s.close()


def test_empty_store_loads_nothing(index_store: IndexStore) -> None:
    """A fresh store holds no index."""
    assert index_store.load() is None


def test_applied_index_survives_reopen(tmp_path: Path) -> None:
    """An applied index is loaded again, with its version, after the environment is reopened."""
    config = edge_config(tmp_path, 1)
    index = make_index([line_item("a")], {"all": ["a"]})
    first = IndexStore.open(config)
    first.apply(index, index.version)
    first.close()
    second = IndexStore.open(config)
    try:
        loaded = second.load()
    finally:
        second.close()
    assert loaded is not None
    assert loaded.version == index.version
    assert [li.line_item_id for li in loaded.line_items] == ["a"]


def test_announced_version_is_used_when_snapshot_has_none(index_store: IndexStore) -> None:
    """A snapshot without its own version is stored under the announced, verified version."""
    index = make_index([line_item("a")], {"all": ["a"]}, stamp_version=False)
    applied = index_store.apply(index, version_of(index))
    assert applied.version == version_of(index)


def test_version_mismatch_is_rejected_and_old_index_kept(index_store: IndexStore) -> None:
    """An update whose content does not hash to its version is refused; the old index stays."""
    good = make_index([line_item("a")], {"all": ["a"]})
    index_store.apply(good, good.version)
    tampered = make_index([line_item("b")], {"all": ["b"]})
    tampered.line_items[0].bid_micros = 1  # content changed after the version was computed
    with pytest.raises(IndexRejectedError, match="version mismatch"):
        index_store.apply(tampered, tampered.version)
    loaded = index_store.load()
    assert loaded is not None
    assert loaded.version == good.version


def test_wrong_store_is_rejected(index_store: IndexStore) -> None:
    """An index compiled for another store is refused."""
    other = make_index([line_item("a")], {"all": ["a"]}, store_id="store-2")
    with pytest.raises(IndexRejectedError, match="store"):
        index_store.apply(other, other.version)
    assert index_store.load() is None


def test_dangling_creative_is_rejected(index_store: IndexStore) -> None:
    """A line item naming a creative the index lacks is refused."""
    index = make_index([line_item("a", creative_ids=["missing"])], {"all": ["a"]}, creatives=[])
    with pytest.raises(IndexRejectedError, match="missing creative"):
        index_store.apply(index, index.version)


def test_dangling_posting_is_rejected(index_store: IndexStore) -> None:
    """A posting naming a line item the index lacks is refused."""
    index = make_index([line_item("a")], {"all": ["a"]}, stamp_version=False)
    index.postings.append(PostingList(key="zone:z", line_item_ids=["ghost"]))
    with pytest.raises(IndexRejectedError, match="missing line item"):
        index_store.apply(index, version_of(index))
