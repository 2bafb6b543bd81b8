"""Index deltas: computed by the cloud, applied by the edge, exact to the content hash."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from cartads.bench.cloud.index_fixture import build_fixture
from cartads.index.delta import DeltaError, apply_delta, compute_delta, delta_is_empty
from cartads.index.version import content_version
from cartads.v1 import admin_pb2, index_pb2
from cloud_core.compile.compiler import CompileSettings, compile_store_index
from tests.edge_node.helpers import creative, line_item, make_index

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def applied(old: index_pb2.StoreIndex, new: index_pb2.StoreIndex) -> index_pb2.StoreIndex:
    return apply_delta(old, compute_delta(old, new))


def test_changed_line_item_round_trips() -> None:
    """A changed bid travels as one upserted line item and the result hashes to the new version."""
    old = make_index([line_item("a"), line_item("b")], {"all": ["a", "b"]})
    new = make_index([line_item("a"), line_item("b", bid_micros=9)], {"all": ["a", "b"]})
    delta = compute_delta(old, new)
    assert [li.line_item_id for li in delta.upserted.line_items] == ["b"]
    assert not delta.upserted.creatives
    assert content_version(apply_delta(old, delta)) == new.version


def test_added_and_removed_resources_round_trip() -> None:
    """Adding one line item and removing another (with creatives and postings) reproduces the new index."""
    old = make_index([line_item("a"), line_item("b")], {"all": ["a", "b"], "aisle:1": ["a"]})
    new = make_index([line_item("b"), line_item("c")], {"all": ["b", "c"]})
    delta = compute_delta(old, new)
    removed = {r.field: list(r.keys) for r in delta.removed}
    assert removed == {"line_items": ["a"], "creatives": ["cr-a"], "postings": ["aisle:1"]}
    assert content_version(applied(old, new)) == new.version


def test_settings_change_replaces_the_field() -> None:
    """A changed store setting is sent whole as a replaced field."""
    old = make_index([line_item("a")], {"all": ["a"]})
    new = index_pb2.StoreIndex()
    new.CopyFrom(old)
    new.settings.time_zone = "Europe/Paris"
    new.version = content_version(new)
    delta = compute_delta(old, new)
    assert list(delta.replaced_fields) == ["settings"]
    assert content_version(apply_delta(old, delta)) == new.version


def test_unsorted_list_is_replaced_whole() -> None:
    """A keyed list that is not sorted by key is sent whole, so applying still reproduces its order."""
    old = make_index([line_item("a")], {"all": ["a"]})
    new = make_index([line_item("b"), line_item("a")], {"all": ["a", "b"]})
    delta = compute_delta(old, new)
    assert "line_items" in delta.replaced_fields
    assert content_version(applied(old, new)) == new.version


def test_equal_indexes_give_empty_delta() -> None:
    """Two equal indexes differ by nothing."""
    index = make_index([line_item("a")], {"all": ["a"]}, creatives=[creative("cr-a")])
    assert delta_is_empty(compute_delta(index, index))


def test_delta_from_another_base_is_refused() -> None:
    """Applying a delta to an index other than its base raises DeltaError."""
    old = make_index([line_item("a")], {"all": ["a"]})
    new = make_index([line_item("b")], {"all": ["b"]})
    other = make_index([line_item("z")], {"all": ["z"]})
    with pytest.raises(DeltaError, match="from version"):
        apply_delta(other, compute_delta(old, new))


def test_one_line_item_change_is_under_one_percent_of_5000_line_item_index() -> None:
    """Changing one bid in a compiled 5,000-line-item index sends < 1% of the full snapshot's bytes."""
    fixture = build_fixture(5000, NOW)
    old = compile_store_index(fixture.compile_input(), CompileSettings(), NOW)
    items = list(fixture.line_items)
    changed = admin_pb2.LineItem()
    changed.CopyFrom(items[2500])
    changed.bid_micros += 1_000
    items[2500] = changed
    new_input = dataclasses.replace(fixture.compile_input(), line_items=tuple(items))
    new = compile_store_index(new_input, CompileSettings(), NOW)
    delta = compute_delta(old, new)
    full_bytes = len(new.SerializeToString(deterministic=True))
    assert len(old.line_items) == 5000
    assert delta.ByteSize() < full_bytes / 100, (delta.ByteSize(), full_bytes)
    assert content_version(apply_delta(old, delta)) == new.version
