"""The tracking token format: ``base64url(payload) "." base64url(hmac_sha256(key, payload)[:16])``.

The edge signs a token for every ad it serves; the cloud verifies it before billing an event, so
a cart cannot invent ads, change the price, or replay one store's decisions in another.

Each edge signs with its own key, named in the payload's ``signing_key_id`` (so the MAC covers the
name too): ``verify_with`` picks the key by that name. Tokens signed before per-edge keys name none
(``""``); a caller that still accepts them maps ``""`` to the store's shared key.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING

from google.protobuf.message import DecodeError

from cartads.v1.tracking_pb2 import TrackingTokenPayload

if TYPE_CHECKING:
    from hashlib import _Hash

_MAC_BYTES = 16


class InvalidTokenError(ValueError):
    """The token is malformed or its signature does not match."""


class UnknownSigningKeyError(InvalidTokenError):
    """The token names a signing key the verifier does not hold: another edge's, or none it knows."""

    def __init__(self, key_id: str) -> None:
        super().__init__("token is signed with a key not known here")
        self.key_id = key_id


# base64 to base64url, done in C (base64.urlsafe_b64encode does the same in several Python calls).
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64encode_bytes(raw: bytes) -> bytes:
    return binascii.b2a_base64(raw, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _b64decode(text: str) -> bytes:
    # base64.urlsafe_b64decode's steps done directly in C (cloud ingest decodes two per event).
    padded = text + "=" * (-len(text) % 4)
    return binascii.a2b_base64(padded.encode("ascii").translate(_FROM_URLSAFE))


_BLOCK = 64  # SHA-256's block size
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


@functools.lru_cache(maxsize=64)
def _keyed(key: bytes) -> tuple[_Hash, _Hash]:
    """SHA-256 states after the inner and outer HMAC key blocks (RFC 2104), computed once per key."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def _mac(key: bytes, payload: bytes) -> bytes:
    # HMAC-SHA256 from copies of the keyed states: the same bytes as hmac.new(key, payload,
    # sha256).digest(), at a third of hmac.digest's cost (which sets the key up on every call).
    inner_keyed, outer_keyed = _keyed(key)
    inner = inner_keyed.copy()
    inner.update(payload)
    outer = outer_keyed.copy()
    outer.update(inner.digest())
    return outer.digest()[:_MAC_BYTES]


class Signer:
    """Signs serialized payloads with one key, its HMAC key blocks hashed once (the edge's hot path)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        self._inner, self._outer = _keyed(key)

    @property
    def keyed_states(self) -> tuple[_Hash, _Hash]:
        """The SHA-256 states after the inner and outer key blocks, for a signer written in C
        (edge_node/serving/_response_wire.c): copied, never updated."""
        return self._inner, self._outer

    def sign_serialized(self, raw: bytes) -> bytes:
        """``sign_serialized(raw, key)``: the token of a serialized payload, as ASCII bytes."""
        inner = self._inner.copy()
        inner.update(raw)
        outer = self._outer.copy()
        outer.update(inner.digest())
        b2a, urlsafe = binascii.b2a_base64, _TO_URLSAFE
        return (
            b2a(raw, newline=False).translate(urlsafe).rstrip(b"=")
            + b"."
            + b2a(outer.digest()[:_MAC_BYTES], newline=False).translate(urlsafe).rstrip(b"=")
        )


def sign(payload: TrackingTokenPayload, key: bytes) -> str:
    """Serialize and sign a payload with the store's key."""
    return sign_serialized(payload.SerializeToString(deterministic=True), key).decode("ascii")


def sign_serialized(raw: bytes, key: bytes) -> bytes:
    """The token (ASCII bytes) of an already serialized payload, for callers that write it into
    serialized messages themselves (the edge's GetAds answers, edge_node/serving/response_wire.py)."""
    return _b64encode_bytes(raw) + b"." + _b64encode_bytes(_mac(key, raw))


def _split(token: str) -> tuple[bytes, bytes]:
    body, sep, mac = token.partition(".")
    if not sep or not body or not mac:
        raise InvalidTokenError("token is not <payload>.<mac>")
    try:
        return _b64decode(body), _b64decode(mac)
    except (binascii.Error, ValueError) as exc:
        raise InvalidTokenError("token is not base64url") from exc


def _parse(raw: bytes) -> TrackingTokenPayload:
    payload = TrackingTokenPayload()
    try:
        payload.ParseFromString(raw)
    except DecodeError as exc:
        raise InvalidTokenError("token payload does not parse") from exc
    return payload


def peek(token: str) -> TrackingTokenPayload:
    """The payload without checking the signature: only to find which store's key to verify with."""
    raw, _ = _split(token)
    return _parse(raw)


def verify(token: str, key: bytes) -> TrackingTokenPayload:
    """The payload of a token whose signature matches ``key``; raises InvalidTokenError otherwise."""
    raw, mac = _split(token)
    if not hmac.compare_digest(mac, _mac(key, raw)):
        raise InvalidTokenError("token signature does not match")
    return _parse(raw)


class OpenedToken:
    """A token split and its payload parsed, not yet verified: for a verifier that reads the payload to
    choose the key (cloud ingest decodes each token once)."""

    __slots__ = ("mac", "payload", "raw")

    def __init__(self, payload: TrackingTokenPayload, raw: bytes, mac: bytes) -> None:
        self.payload = payload
        self.raw = raw
        self.mac = mac

    def mac_matches(self, key: bytes) -> bool:
        """Whether the token's MAC is ``key``'s over its payload bytes."""
        return hmac.compare_digest(self.mac, _mac(key, self.raw))


def open_token(token: str) -> OpenedToken:
    """The token split and parsed, unverified; raises InvalidTokenError when it is not a token."""
    raw, mac = _split(token)
    return OpenedToken(_parse(raw), raw, mac)


def peek_key_id(token: str) -> str:
    """The id of the key a token claims to be signed with, unverified ("" for tokens of the store's
    shared key); raises InvalidTokenError when it is not a token. For loading the keys to verify with."""
    return peek(token).signing_key_id


def verify_with(token: str, keys: Mapping[str, bytes]) -> TrackingTokenPayload:
    """The payload of a token whose signature matches the key its ``signing_key_id`` names in ``keys``.

    Raises UnknownSigningKeyError when ``keys`` lacks that id, InvalidTokenError when the token is
    malformed or the MAC does not match (e.g. a key id swapped into another token's payload).
    """
    raw, mac = _split(token)
    payload = _parse(raw)
    key = keys.get(payload.signing_key_id)
    if key is None:
        raise UnknownSigningKeyError(payload.signing_key_id)
    if not hmac.compare_digest(mac, _mac(key, raw)):
        raise InvalidTokenError("token signature does not match")
    return payload
