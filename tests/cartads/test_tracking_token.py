"""The tracking token: signed by the edge, verified by the cloud."""

from __future__ import annotations

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
