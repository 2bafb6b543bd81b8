"""Fields written by hand are byte for byte what protobuf's own serialization writes."""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from hypothesis import given
from hypothesis import strategies as st

from cartads.protowire import (
    LEN,
    SMALL_VARINTS,
    VARINT,
    bytes_field,
    delimited,
    encode_varint,
    field_key,
    string_field,
    varint,
    varint_field,
)
from cartads.v1.ad_service_pb2 import Ad, GetAdsResponse
from cartads.v1.index_pb2 import IndexExperimentLayer, StoreIndex, StoreSettings
from cartads.v1.tracking_pb2 import TrackingTokenPayload

_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_STRING_FIELDS = [f for f in TrackingTokenPayload.DESCRIPTOR.fields if f.type == f.TYPE_STRING]


@given(_int64)
def test_varint_field_matches_an_int64_field(value: int) -> None:
    """An int64 field, negative values as ten bytes, and nothing at all for 0."""
    price_key = field_key(TrackingTokenPayload.PRICE_MICROS_FIELD_NUMBER, VARINT)
    assert varint_field(price_key, value) == TrackingTokenPayload(price_micros=value).SerializeToString()


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_cached_varint_equals_the_plain_encoding(value: int) -> None:
    """varint (table and cache) gives encode_varint's bytes for any 64-bit value."""
    assert varint(value) == encode_varint(value)


def test_varint_stays_right_once_its_cache_fills() -> None:
    """More distinct large values than the cache holds still encode as encode_varint does."""
    values = range(1 << 20, (1 << 20) + 10_000)
    assert [varint(v) for v in values] == [encode_varint(v) for v in values]


def test_small_varint_table_is_the_plain_encoding() -> None:
    """Every precomputed encoding, one byte and two, is encode_varint's."""
    assert list(SMALL_VARINTS) == [encode_varint(n) for n in range(len(SMALL_VARINTS))]


@given(st.sampled_from(_STRING_FIELDS), st.text(max_size=300))
def test_string_field_matches_protobuf(field: FieldDescriptor, text: str) -> None:
    """Each string field of the token payload, omitted when empty, as protobuf writes it."""
    payload = TrackingTokenPayload()
    setattr(payload, field.name, text)
    assert string_field(field_key(field.number, LEN), text) == payload.SerializeToString()


@given(st.binary(max_size=300))
def test_bytes_field_matches_protobuf(data: bytes) -> None:
    """A bytes field (the signing key), omitted when empty, as protobuf writes it."""
    key = field_key(StoreSettings.SIGNING_KEY_FIELD_NUMBER, LEN)
    assert bytes_field(key, data) == StoreSettings(signing_key=data).SerializeToString()


@given(st.lists(st.text(max_size=40), max_size=5))
def test_delimited_writes_each_repeated_message_even_when_empty(ad_ids: list[str]) -> None:
    """Repeated message elements, empty ones included, joined as protobuf writes them."""
    ads = [Ad(ad_id=ad_id) for ad_id in ad_ids]
    key = field_key(GetAdsResponse.ADS_FIELD_NUMBER, LEN)
    written = b"".join(delimited(key, ad.SerializeToString()) for ad in ads)
    assert written == GetAdsResponse(ads=ads).SerializeToString()


@given(st.integers(min_value=0, max_value=300_000))
def test_long_fields_have_multi_byte_lengths(size: int) -> None:
    """A field longer than the precomputed lengths is still written as protobuf writes it."""
    store_id = "x" * size
    assert string_field(field_key(1, LEN), store_id) == StoreIndex(store_id=store_id).SerializeToString()


def test_two_byte_field_keys_match_protobuf() -> None:
    """A field numbered above 15 (experiment layers, 160) has protobuf's two-byte key."""
    layer = IndexExperimentLayer(layer_id="l1")
    key = field_key(StoreIndex.EXPERIMENT_LAYERS_FIELD_NUMBER, LEN)
    assert delimited(key, layer.SerializeToString()) == StoreIndex(experiment_layers=[layer]).SerializeToString()
