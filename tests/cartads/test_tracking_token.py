"""The tracking token: signed by the edge, verified by the cloud."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from cartads import tracking_token
from cartads.v1 import common_pb2
from cartads.v1.tracking_pb2 import TrackingTokenPayload

KEY = b"k" * 32


def _payload() -> TrackingTokenPayload:
    return TrackingTokenPayload(
        ad_id="ad-1",
        store_id="store-1",
        cart_id="cart-1",
        session_id="s-1",
        line_item_id="li-1",
        pricing_model=common_pb2.PRICING_MODEL_CPM,
        price_micros=5_000_000,
        issue_time_unix_ms=1_700_000_000_000,
    )


def test_round_trip() -> None:
    """A token signed with a key verifies with the same key and gives the payload back."""
    assert tracking_token.verify(tracking_token.sign(_payload(), KEY), KEY) == _payload()


def test_wrong_key_is_rejected() -> None:
    """A token does not verify under another store's key."""
    token = tracking_token.sign(_payload(), KEY)
    with pytest.raises(tracking_token.InvalidTokenError):
        tracking_token.verify(token, b"x" * 32)


def test_changed_price_is_rejected() -> None:
    """Swapping in a payload with a higher price breaks the signature."""
    token = tracking_token.sign(_payload(), KEY)
    forged_payload = _payload()
    forged_payload.price_micros = 50_000_000
    forged_body = tracking_token.sign(forged_payload, KEY).split(".")[0]
    forged = f"{forged_body}.{token.split('.')[1]}"
    with pytest.raises(tracking_token.InvalidTokenError):
        tracking_token.verify(forged, KEY)


@pytest.mark.parametrize("token", ["", "abc", "abc.", ".abc", "!!!.???", "YWJj.YWJj"])
def test_malformed_tokens_are_rejected(token: str) -> None:
    """Garbage never verifies and never raises anything but InvalidTokenError."""
    with pytest.raises(tracking_token.InvalidTokenError):
        tracking_token.verify(token, KEY)


def test_peek_reads_without_verifying() -> None:
    """peek gives the store id needed to look up the verifying key."""
    assert tracking_token.peek(tracking_token.sign(_payload(), KEY)).store_id == "store-1"


@pytest.mark.parametrize("key_len", [0, 1, 32, 64, 65, 200])
def test_mac_is_hmac_sha256_truncated_for_any_key_length(key_len: int) -> None:
    """The cached-key MAC is exactly HMAC-SHA256, also for empty and longer-than-a-block keys."""
    key = bytes(range(256))[:key_len]
    for payload in (b"", b"x", bytes(range(256)) * 3):
        expected = hmac.new(key, payload, hashlib.sha256).digest()[:16]
        assert tracking_token._mac(key, payload) == expected


def test_token_parts_are_unpadded_base64url() -> None:
    """The C-level encoding equals base64url without padding."""
    for raw in (b"", b"\xfb\xff", b"\xfb\xff\xfe", bytes(range(256))):
        assert tracking_token._b64encode_bytes(raw) == base64.urlsafe_b64encode(raw).rstrip(b"=")


@pytest.mark.parametrize("key_len", [0, 32, 65])
def test_signer_signs_like_sign(key_len: int) -> None:
    """A Signer's token for serialized bytes is sign()'s token, and verifies."""
    key = bytes(range(256))[:key_len]
    payload = TrackingTokenPayload(ad_id="a", store_id="s", cart_id="c", price_micros=7)
    raw = payload.SerializeToString(deterministic=True)
    token = tracking_token.Signer(key).sign_serialized(raw)
    assert token.decode("ascii") == tracking_token.sign(payload, key)
    assert tracking_token.verify(token.decode("ascii"), key) == payload
