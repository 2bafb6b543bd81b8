"""One store's last compile, kept by the incremental compiler to be patched (cloud_core/compile/incremental.py).

Its live line items in id order with their entries, its postings and its creatives, each as the
serialized parts the index is assembled from, kept in order so a few changed ones are put in place
without sorting or serializing the others again.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cartads.protowire import LEN, delimited, field_key
from cartads.v1 import index_pb2
from cloud_core.compile.compiler import CompileSettings
from cloud_core.compile.templates import ServableItem, SharedCompile
from cloud_core.delivery.leases import StoreTraffic
from cloud_core.delivery.predictions import Prediction

_POSTING_TAG = field_key(index_pb2.StoreIndex.POSTINGS_FIELD_NUMBER, LEN)

# A campaign's facts at one moment, the same for every store: its row, its spend, whether it is live,
# its pacing part (without pacing state: the flight-level factor) and its lease's other inputs.
CampaignFacts = tuple[bytes, int, bool, bytes | None, frozenset[str], frozenset[Any]]

# A catalog's products and aisles, each row as its bytes.
CatalogKey = tuple[tuple[bytes, ...], tuple[bytes, ...]]


@dataclass(frozen=True)
class StoreContext:
    """A store's inputs that every part of its index may depend on: any change starts it over."""

    store: bytes
    lease_window: int
    settings: CompileSettings
    traffic: StoreTraffic | None
    paced: bool
    profile: tuple[float, ...] | None
    catalog: int


@dataclass
class StoreState:
    """One store's last compile, to be patched."""

    context: StoreContext
    # The catalog's rows as bytes (the object the memo holds, shared by the stores with this catalog).
    catalog_key: CatalogKey
    shared: SharedCompile | None = None
    facts: Mapping[str, CampaignFacts] = field(default_factory=dict)
    rates: Mapping[str, float] | None = None
    done: frozenset[str] = frozenset()
    predictions: Mapping[str, Prediction] = field(default_factory=dict)
    leases: dict[str, bytes] = field(default_factory=dict)
    # Live line items in id order and their entries; postings and creatives with their entries.
    ids: list[str] = field(default_factory=list)
    entries: list[bytes] = field(default_factory=list)
    postings: dict[str, list[str]] = field(default_factory=dict)
    posting_keys: list[str] = field(default_factory=list)
    posting_parts: list[bytes] = field(default_factory=list)
    creative_refs: dict[str, int] = field(default_factory=dict)
    creative_ids: list[str] = field(default_factory=list)
    creative_parts: list[bytes] = field(default_factory=list)


def unpost(state: StoreState, entry: ServableItem, keys: set[str], creatives: set[str]) -> None:
    for key in dict.fromkeys(entry.posting_keys):
        ids = state.postings[key]
        del ids[bisect_left(ids, entry.line_item_id)]
        keys.add(key)
    for cid in dict.fromkeys(c for c, _ in entry.creatives_by_id):
        state.creative_refs[cid] -= 1
        creatives.add(cid)


def post(state: StoreState, entry: ServableItem, keys: set[str], creatives: set[str]) -> None:
    for key in dict.fromkeys(entry.posting_keys):
        insort(state.postings.setdefault(key, []), entry.line_item_id)
        keys.add(key)
    for cid in dict.fromkeys(c for c, _ in entry.creatives_by_id):
        state.creative_refs[cid] = state.creative_refs.get(cid, 0) + 1
        creatives.add(cid)


def refresh_postings(state: StoreState, keys: Iterable[str]) -> None:
    for key in keys:
        ids = state.postings.get(key)
        at = bisect_left(state.posting_keys, key)
        listed = at < len(state.posting_keys) and state.posting_keys[at] == key
        if ids:
            body = index_pb2.PostingList(key=key, line_item_ids=ids).SerializeToString(deterministic=True)
            part = delimited(_POSTING_TAG, body)
            if listed:
                state.posting_parts[at] = part
            else:
                state.posting_keys.insert(at, key)
                state.posting_parts.insert(at, part)
        else:
            state.postings.pop(key, None)
            if listed:
                del state.posting_keys[at]
                del state.posting_parts[at]
