"""One store's last compile, kept by the incremental compiler to be patched (cloud_core/compile/incremental.py).

Its live line items in id order with their entries, its postings and its creatives, each as the
serialized parts the index is assembled from, kept in order so a few changed ones are put in place
without sorting or serializing the others again.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
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
    posting_keys: list[str] = field(default_factory=list)
    posting_parts: list[bytes] = field(default_factory=list)
    creative_ids: list[str] = field(default_factory=list)
    creative_parts: list[bytes] = field(default_factory=list)


def is_live(state: StoreState, line_item_id: str) -> bool:
    """Whether the line item is in the store's index (its live line items, sorted)."""
    at = bisect_left(state.ids, line_item_id)
    return at < len(state.ids) and state.ids[at] == line_item_id


def touch(entry: ServableItem, keys: set[str], creatives: set[str]) -> None:
    """Note the posting keys and creatives of a line item that entered or left the store's index."""
    keys.update(entry.posting_keys)
    creatives.update(cid for cid, _ in entry.creatives_by_id)


def place(keys: list[str], parts: list[bytes], key: str, part: bytes | None) -> None:
    """Put ``part`` under ``key`` in the sorted ``keys`` and their aligned ``parts``; None removes it."""
    at = bisect_left(keys, key)
    listed = at < len(keys) and keys[at] == key
    if part is None:
        if listed:
            del keys[at]
            del parts[at]
    elif listed:
        parts[at] = part
    else:
        keys.insert(at, key)
        parts.insert(at, part)


def posting_part(key: str, line_item_ids: tuple[str, ...]) -> bytes:
    """One posting list as the index's deterministic serialization writes it, with its field key."""
    body = index_pb2.PostingList(key=key, line_item_ids=line_item_ids).SerializeToString(deterministic=True)
    return delimited(_POSTING_TAG, body)
