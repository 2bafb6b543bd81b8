"""Verifying an index snapshot before it may be served: content-hash version, store, references. Pure.

Its error is a plain one, so that checking imports nothing of gRPC; the store reports it as
IndexRejectedError, which NACKs the update.
"""

from __future__ import annotations

from collections.abc import Iterable

from cartads.index.delta import KEYED_FIELDS
from cartads.index.version import content_version
from cartads.v1.index_pb2 import IndexLineItem, PostingList, StoreIndex
from cartads.v1.index_sync_pb2 import IndexDelta


class IndexCheckError(ValueError):
    """Why an index must not be served."""


def check_index(index: StoreIndex, announced_version: str, store_id: str, delta: IndexDelta | None = None) -> str:
    """The verified version of ``index``; raises IndexCheckError saying why it must not be served.

    With ``delta`` (the delta that turned a verified index into ``index``), references are checked only
    where the delta can have broken them, when it removed and replaced nothing.
    """
    version = announced_version or index.version
    if not version:
        raise IndexCheckError("update carries no version")
    if index.version and index.version != version:
        raise IndexCheckError(f"snapshot version {index.version} differs from announced {version}")
    if index.store_id != store_id:
        raise IndexCheckError(f"snapshot is for store {index.store_id!r}, this edge serves {store_id!r}")
    computed = content_version(index)
    if computed != version:
        raise IndexCheckError(f"version mismatch: announced {version}, content hashes to {computed}")
    if delta is not None and _only_upserts(delta):
        _check_references(index, delta.upserted.line_items, delta.upserted.postings)
    else:
        _check_references(index, index.line_items, index.postings)
    return version


def _only_upserts(delta: IndexDelta) -> bool:
    return not delta.removed and not set(delta.replaced_fields) & set(KEYED_FIELDS)


def _check_references(index: StoreIndex, line_items: Iterable[IndexLineItem], postings: Iterable[PostingList]) -> None:
    """Every creative the given line items name, and every line item the given postings name, is in ``index``."""
    line_items, postings = list(line_items), list(postings)
    creative_ids = {c.creative_id for c in index.creatives} if line_items else set()
    for line_item in line_items:
        for creative_id in line_item.creative_ids:
            if creative_id not in creative_ids:
                raise IndexCheckError(f"line item {line_item.line_item_id} names missing creative {creative_id}")
    line_item_ids = {li.line_item_id for li in index.line_items} if postings else set()
    for posting in postings:
        for line_item_id in posting.line_item_ids:
            if line_item_id not in line_item_ids:
                raise IndexCheckError(f"posting {posting.key} names missing line item {line_item_id}")
