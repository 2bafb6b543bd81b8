"""Index deltas: what changed between two versions of a store's index, and applying that change.

The cloud computes a delta, the edge applies it; both sides live here so they cannot drift. Pure.

The diff is driven by the StoreIndex descriptor, so fields added to the index later travel without
changes here: the keyed lists below are diffed resource by resource (when they are sorted by key,
as the compiler writes them), every other top-level field is replaced whole when it changed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from cartads.v1.index_pb2 import StoreIndex
from cartads.v1.index_sync_pb2 import IndexDelta, RemovedKeys

# StoreIndex list field -> the field of its element that identifies it.
KEYED_FIELDS: dict[str, str] = {
    "line_items": "line_item_id",
    "creatives": "creative_id",
    "products": "product_id",
    "postings": "key",
    # A cart enrolled or revoked changes one entry, not the whole list.
    "carts": "credential_id",
}
# Not part of the content: the version is the hash of everything else.
_UNHASHED = ("version",)


class DeltaError(ValueError):
    """A delta cannot be applied to the given base (wrong base, malformed)."""


def _keys(items: Iterable[Any], key_field: str) -> list[str]:
    return [str(getattr(item, key_field)) for item in items]


def _strictly_sorted(keys: Sequence[str]) -> bool:
    return all(a < b for a, b in itertools.pairwise(keys))


def _field_equal(old: StoreIndex, new: StoreIndex, name: str) -> bool:
    field = StoreIndex.DESCRIPTOR.fields_by_name[name]
    if field.is_repeated:
        return list(getattr(old, name)) == list(getattr(new, name))
    if field.message_type is not None:
        return old.HasField(name) == new.HasField(name) and getattr(old, name) == getattr(new, name)
    return bool(getattr(old, name) == getattr(new, name))


def compute_delta(old: StoreIndex, new: StoreIndex) -> IndexDelta:
    """The delta that turns ``old`` into ``new`` (both carrying their versions)."""
    delta = IndexDelta(base_version=old.version)
    for field in StoreIndex.DESCRIPTOR.fields:
        name = field.name
        if name in _UNHASHED:
            continue
        key_field = KEYED_FIELDS.get(name)
        if key_field is not None:
            old_items, new_items = getattr(old, name), getattr(new, name)
            old_keys, new_keys = _keys(old_items, key_field), _keys(new_items, key_field)
            # Applying rebuilds the list in key order, which only reproduces a sorted list.
            if _strictly_sorted(old_keys) and _strictly_sorted(new_keys):
                _diff_keyed(delta, name, key_field, old_items, new_items)
                continue
        if not _field_equal(old, new, name):
            delta.replaced_fields.append(name)
            _copy_field(new, delta.replaced, name)
    return delta


def _diff_keyed(delta: IndexDelta, name: str, key_field: str, old_items: Any, new_items: Any) -> None:
    before = {str(getattr(item, key_field)): item for item in old_items}
    after_keys = set()
    upserts = getattr(delta.upserted, name)
    for item in new_items:
        key = str(getattr(item, key_field))
        after_keys.add(key)
        previous = before.get(key)
        if previous is None or previous != item:
            upserts.add().CopyFrom(item)
    gone = sorted(k for k in before if k not in after_keys)
    if gone:
        delta.removed.append(RemovedKeys(field=name, keys=gone))


def _copy_field(src: StoreIndex, dst: StoreIndex, name: str) -> None:
    field = StoreIndex.DESCRIPTOR.fields_by_name[name]
    if field.is_repeated:
        target = getattr(dst, name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            target.MergeFrom(getattr(src, name))
        elif field.message_type is not None:
            for item in getattr(src, name):
                target.add().CopyFrom(item)
        else:
            target.extend(getattr(src, name))
    elif field.message_type is not None:
        if src.HasField(name):
            getattr(dst, name).CopyFrom(getattr(src, name))
    else:
        setattr(dst, name, getattr(src, name))


def apply_delta(base: StoreIndex, delta: IndexDelta) -> StoreIndex:
    """``base`` with ``delta`` applied; the caller verifies the result's content hash.

    Raises DeltaError when the delta names another base or a field StoreIndex does not have.
    """
    if delta.base_version != base.version:
        raise DeltaError(f"delta is from version {delta.base_version}, this edge holds {base.version or 'none'}")
    fields = StoreIndex.DESCRIPTOR.fields_by_name
    result = StoreIndex()
    result.CopyFrom(base)
    for name in delta.replaced_fields:
        if name not in fields or name in _UNHASHED:
            raise DeltaError(f"delta replaces unknown field {name!r}")
        result.ClearField(name)
        _copy_field(delta.replaced, result, name)
    removed: dict[str, set[str]] = {}
    for entry in delta.removed:
        if entry.field not in KEYED_FIELDS:
            raise DeltaError(f"delta removes from unknown list {entry.field!r}")
        removed.setdefault(entry.field, set()).update(entry.keys)
    for name, key_field in KEYED_FIELDS.items():
        upserts = getattr(delta.upserted, name)
        gone = removed.get(name, set())
        if not upserts and not gone:
            continue
        current = getattr(result, name)
        position = {str(getattr(item, key_field)): i for i, item in enumerate(current)}
        if not gone and all(str(getattr(item, key_field)) in position for item in upserts):
            # Only changed resources: overwrite them in place, the order stays as it is.
            for item in upserts:
                current[position[str(getattr(item, key_field))]].CopyFrom(item)
            continue
        merged = {str(getattr(item, key_field)): item for item in current}
        for key in gone:
            merged.pop(key, None)
        for item in upserts:
            merged[str(getattr(item, key_field))] = item
        ordered = [merged[key] for key in sorted(merged)]
        copies = [type(item)() for item in ordered]
        for copy, item in zip(copies, ordered, strict=True):
            copy.CopyFrom(item)
        result.ClearField(name)
        getattr(result, name).extend(copies)
    result.version = ""
    return result


def delta_is_empty(delta: IndexDelta) -> bool:
    """True when the delta changes nothing."""
    return not delta.replaced_fields and not delta.removed and delta.upserted.ByteSize() == 0
