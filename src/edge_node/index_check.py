"""Verifying an index snapshot before it may be served: content-hash version, store, references."""

from __future__ import annotations

import hashlib

from cartads.v1.index_pb2 import StoreIndex
from edge_node.errors import IndexRejectedError


def compute_version(index: StoreIndex) -> str:
    """The hex sha256 of the index serialized deterministically without version and compile_time.

    This is how the cloud computes versions, so equal content means equal version.
    """
    bare = StoreIndex()
    bare.CopyFrom(index)
    bare.ClearField("version")
    bare.ClearField("compile_time")
    return hashlib.sha256(bare.SerializeToString(deterministic=True)).hexdigest()


def check_index(index: StoreIndex, announced_version: str, store_id: str) -> str:
    """The verified version of ``index``; raises IndexRejectedError saying why it must not be served."""
    version = announced_version or index.version
    if not version:
        raise IndexRejectedError("update carries no version")
    if index.version and index.version != version:
        raise IndexRejectedError(f"snapshot version {index.version} differs from announced {version}")
    if index.store_id != store_id:
        raise IndexRejectedError(f"snapshot is for store {index.store_id!r}, this edge serves {store_id!r}")
    computed = compute_version(index)
    if computed != version:
        raise IndexRejectedError(f"version mismatch: announced {version}, content hashes to {computed}")
    creative_ids = {c.creative_id for c in index.creatives}
    line_item_ids = set()
    for line_item in index.line_items:
        line_item_ids.add(line_item.line_item_id)
        for creative_id in line_item.creative_ids:
            if creative_id not in creative_ids:
                raise IndexRejectedError(f"line item {line_item.line_item_id} names missing creative {creative_id}")
    for posting in index.postings:
        for line_item_id in posting.line_item_ids:
            if line_item_id not in line_item_ids:
                raise IndexRejectedError(f"posting {posting.key} names missing line item {line_item_id}")
    return version
