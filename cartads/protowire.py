"""Protobuf's wire format written by hand, for messages spliced from pieces serialized beforehand.

The cloud's index compiler joins each store's index from templates shared by every store, and the
edge writes GetAds answers around pieces serialized once per index version: building those
messages field by field would cost more than everything else they do. Protobuf allows splicing: a
message is the concatenation of its encoded fields, a repeated field is its elements one after the
other, and parsing concatenated parts merges them. What both need is written here once, byte for
byte as protobuf's own serialization writes it (the tests compare the two).
"""

from __future__ import annotations

# Wire types of the fields spliced by hand (protobuf's others: fixed 64 and 32 bits, never written here).
VARINT = 0
LEN = 2

# Varint encodings of 0 to 16383 (one and two bytes), built once: nearly every length written is
# one of them, and the edge reads these on every answer.
SMALL_VARINTS: tuple[bytes, ...] = tuple(
    [bytes((n,)) for n in range(0x80)] + [bytes(((n & 0x7F) | 0x80, n >> 7)) for n in range(0x80, 1 << 14)]
)
_SMALL_LIMIT = len(SMALL_VARINTS)
# Larger values (prices, times) repeat from request to request: a bounded cache, cleared when full.
_LARGE_VARINTS: dict[int, bytes] = {}
_MAX_CACHED_LARGE = 4096


def encode_varint(value: int) -> bytes:
    """The base-128 varint of ``value``; a negative one as its 64-bit two's complement (int64 fields)."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def varint(value: int) -> bytes:
    """``encode_varint(value)``, from a table or a cache most of the time."""
    if 0 <= value < _SMALL_LIMIT:
        return SMALL_VARINTS[value]
    encoded = _LARGE_VARINTS.get(value)
    if encoded is None:
        if len(_LARGE_VARINTS) >= _MAX_CACHED_LARGE:
            _LARGE_VARINTS.clear()
        encoded = _LARGE_VARINTS[value] = encode_varint(value)
    return encoded


def field_key(field_number: int, wire_type: int) -> bytes:
    """A field's key (its tag): the field number and wire type, as a varint."""
    return varint(field_number << 3 | wire_type)


def delimited(key: bytes, data: bytes) -> bytes:
    """A length-delimited field with key ``key``, written even when ``data`` is empty: a set message
    field, or one element of a repeated message field (an empty element is still an element)."""
    return key + varint(len(data)) + data


def bytes_field(key: bytes, data: bytes) -> bytes:
    """A proto3 singular bytes (or string) field: omitted when empty, as protobuf does."""
    return key + varint(len(data)) + data if data else b""


def string_field(key: bytes, text: str) -> bytes:
    """A proto3 singular string field: omitted when empty, as protobuf does."""
    return bytes_field(key, text.encode()) if text else b""


def varint_field(key: bytes, value: int) -> bytes:
    """A proto3 singular integer, bool or enum field: omitted when 0, as protobuf does."""
    return key + varint(value) if value else b""
