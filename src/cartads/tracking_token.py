"""The tracking token format: ``base64url(payload) "." base64url(hmac_sha256(key, payload)[:16])``.

The edge signs a token for every ad it serves; the cloud verifies it before billing an event, so
a cart cannot invent ads, change the price, or replay one store's decisions in another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from google.protobuf.message import DecodeError

from cartads.v1.tracking_pb2 import TrackingTokenPayload

_MAC_BYTES = 16


class InvalidTokenError(ValueError):
    """The token is malformed or its signature does not match."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def sign(payload: TrackingTokenPayload, key: bytes) -> str:
    """Serialize and sign a payload with the store's key."""
    raw = payload.SerializeToString(deterministic=True)
    return f"{_b64encode(raw)}.{_b64encode(_mac(key, raw))}"


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
