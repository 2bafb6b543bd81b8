"""The index version rule shared by the compiler and the edge."""

from __future__ import annotations

import hashlib

from cartads.index.version import content_version
from cartads.v1.index_pb2 import IndexLineItem, StoreIndex


def _index(compile_s: int = 0, version: str = "") -> StoreIndex:
    index = StoreIndex(store_id="store-1", version=version)
    index.line_items.append(IndexLineItem(line_item_id="li-1", campaign_id="c-1"))
    if compile_s:
        index.compile_time.FromSeconds(compile_s)
    return index


def test_version_is_sha256_of_the_content_without_version_and_compile_time() -> None:
    """The version is the hex sha256 of the deterministic serialization without version and compile_time."""
    expected = hashlib.sha256(_index().SerializeToString(deterministic=True)).hexdigest()
    assert content_version(_index(compile_s=5, version="announced")) == expected


def test_compile_time_does_not_change_the_version() -> None:
    """Two compiles of the same content at different times have the same version."""
    assert content_version(_index(compile_s=5)) == content_version(_index(compile_s=9))


def test_content_changes_the_version() -> None:
    """Another line item makes another version."""
    other = _index()
    other.line_items[0].line_item_id = "li-2"
    assert content_version(other) != content_version(_index())


def test_hashing_leaves_the_index_as_it_was() -> None:
    """The fields cleared for the hash are restored, so the caller's index is unchanged."""
    index = _index(compile_s=5, version="announced")
    before = index.SerializeToString(deterministic=True)
    content_version(index)
    assert index.SerializeToString(deterministic=True) == before
