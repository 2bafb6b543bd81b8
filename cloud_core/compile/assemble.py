"""A store's index assembled from its parts, and the parts as the index's deterministic serialization
writes them: the assembly is that serialization, hashed for its version and parsed once. Pure
(cloud_core/compile/incremental.py keeps the parts)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from cartads.protowire import LEN, delimited, field_key, string_field
from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2, common_pb2, index_pb2
from cloud_core.compile.carts import index_carts
from cloud_core.compile.compiler import CompileInput, CompileSettings, _creative_store_part, _index_products
from cloud_core.compile.compiler import store_settings as compiled_store_settings
from cloud_core.compile.experiment_rules import index_layers
from cloud_core.compile.store_state import StoreState

_STORE_ID_TAG = field_key(index_pb2.StoreIndex.STORE_ID_FIELD_NUMBER, LEN)
_VERSION_TAG = field_key(index_pb2.StoreIndex.VERSION_FIELD_NUMBER, LEN)
_COMPILE_TIME_TAG = field_key(index_pb2.StoreIndex.COMPILE_TIME_FIELD_NUMBER, LEN)
_SETTINGS_TAG = field_key(index_pb2.StoreIndex.SETTINGS_FIELD_NUMBER, LEN)
_LAYER_TAG = field_key(index_pb2.StoreIndex.EXPERIMENT_LAYERS_FIELD_NUMBER, LEN)
_CART_TAG = field_key(index_pb2.StoreIndex.CARTS_FIELD_NUMBER, LEN)


_LINE_ITEM_TAG = field_key(index_pb2.StoreIndex.LINE_ITEMS_FIELD_NUMBER, LEN)
_CREATIVE_TAG = field_key(index_pb2.StoreIndex.CREATIVES_FIELD_NUMBER, LEN)


def canonical_entry(template: bytes, lease: bytes, prediction: bytes, pacing: bytes) -> bytes:
    """A line item's entry as the index's deterministic serialization writes it, with its key."""
    entry = index_pb2.IndexLineItem.FromString(template + lease + prediction + pacing)
    return delimited(_LINE_ITEM_TAG, entry.SerializeToString(deterministic=True))


def store_creative(
    template: bytes,
    spec: admin_pb2.CreativeSpec,
    catalog_rows: Callable[[], tuple[dict[str, admin_pb2.Product], dict[str, admin_pb2.Aisle]]],
) -> bytes:
    """A creative's entry in a store with this catalog, as the deterministic serialization writes it."""
    creative = common_pb2.Creative.FromString(template + _creative_store_part(spec, *catalog_rows()))
    return delimited(_CREATIVE_TAG, creative.SerializeToString(deterministic=True))


def products_section(inp: CompileInput) -> bytes:
    """The index's products as its deterministic serialization writes them (field 7's entries)."""
    return index_pb2.StoreIndex.FromString(_index_products(inp)).SerializeToString(deterministic=True)


def assemble_index(
    state: StoreState,
    inp: CompileInput,
    settings: CompileSettings,
    now: datetime,
    products: tuple[bytes, index_pb2.StoreIndex],
) -> index_pb2.StoreIndex:
    """The index of ``state``'s parts, the store's settings, layers and carts, and ``products`` (the
    catalog's products serialized, and parsed)."""
    store_settings = compiled_store_settings(inp, settings)
    products_bytes, products_proto = products
    # The fields before the products (settings, line items, creatives) and after them (postings,
    # experiment layers, carts), each joined once: hashed, then parsed.
    before = b"".join(
        [
            delimited(_SETTINGS_TAG, store_settings.SerializeToString(deterministic=True)),
            *state.entries,
            *state.creative_parts,
        ]
    )
    after = b"".join(
        [
            *state.posting_parts,
            *(
                delimited(_LAYER_TAG, layer.SerializeToString(deterministic=True))
                for layer in index_layers(inp.experiment_layers)
            ),
            *(delimited(_CART_TAG, cart.SerializeToString(deterministic=True)) for cart in index_carts(inp.carts)),
        ]
    )
    head = string_field(_STORE_ID_TAG, inp.store.store_id)
    digest = hashlib.sha256(head)
    for part in (before, products_bytes, after):
        digest.update(part)
    stamp = delimited(_COMPILE_TIME_TAG, dt_to_ts(now).SerializeToString(deterministic=True))
    # The products are copied from the catalog's parsed list (cheaper than parsing them again: no
    # decoding or UTF-8 checks), the rest parsed; a message's fields are written in number order
    # whatever order they were set in.
    index = index_pb2.StoreIndex()
    index.CopyFrom(products_proto)
    index.MergeFromString(head + string_field(_VERSION_TAG, digest.hexdigest()) + stamp)
    index.MergeFromString(before)
    index.MergeFromString(after)
    return index
