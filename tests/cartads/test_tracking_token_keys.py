"""Tokens of per-edge keys: each names its key inside the signed payload, and verifies only with that key."""

from __future__ import annotations

import pytest

from cartads import tracking_token
from cartads.v1 import common_pb2
from cartads.v1.tracking_pb2 import TrackingTokenPayload

KEY_A = b"a" * 32
KEY_B = b"b" * 32
KEYS = {"aaaaaaaaaaaaaaaa": KEY_A, "bbbbbbbbbbbbbbbb": KEY_B}


def _payload(key_id: str) -> TrackingTokenPayload:
    return TrackingTokenPayload(
        ad_id="ad-1",
        store_id="store-1",
        cart_id="cart-1",
        session_id="s-1",
        line_item_id="li-1",
        pricing_model=common_pb2.PRICING_MODEL_CPC,
        price_micros=500_000,
        issue_time_unix_ms=1_700_000_000_000,
        signing_key_id=key_id,
    )


def _body_and_mac(token: str) -> tuple[str, str]:
    body, _, mac = token.partition(".")
    return body, mac


def test_token_verifies_with_the_key_it_names() -> None:
    """A token signed with edge A's key verifies with A's key, picked by the id in its payload."""
    token = tracking_token.sign(_payload("aaaaaaaaaaaaaaaa"), KEY_A)
    assert tracking_token.verify_with(token, KEYS) == _payload("aaaaaaaaaaaaaaaa")


def test_unknown_key_id_is_its_own_error() -> None:
    """A token naming a key the verifier does not hold raises UnknownSigningKeyError with that id."""
    token = tracking_token.sign(_payload("cccccccccccccccc"), b"c" * 32)
    with pytest.raises(tracking_token.UnknownSigningKeyError) as err:
        tracking_token.verify_with(token, KEYS)
    assert err.value.key_id == "cccccccccccccccc"
    assert isinstance(err.value, tracking_token.InvalidTokenError)


def test_key_id_swapped_into_another_payload_fails_the_mac() -> None:
    """Renaming a token's key (A's token made to claim B's key) breaks the MAC: the id is signed."""
    genuine = tracking_token.sign(_payload("aaaaaaaaaaaaaaaa"), KEY_A)
    renamed_body, _ = _body_and_mac(tracking_token.sign(_payload("bbbbbbbbbbbbbbbb"), KEY_A))
    forged = f"{renamed_body}.{_body_and_mac(genuine)[1]}"
    with pytest.raises(tracking_token.InvalidTokenError) as err:
        tracking_token.verify_with(forged, KEYS)
    assert not isinstance(err.value, tracking_token.UnknownSigningKeyError)


def test_token_signed_with_one_key_claiming_another_is_refused() -> None:
    """Edge B cannot sign in edge A's name: a payload naming A's key but MACed with B's does not verify."""
    forged = tracking_token.sign(_payload("aaaaaaaaaaaaaaaa"), KEY_B)
    with pytest.raises(tracking_token.InvalidTokenError):
        tracking_token.verify_with(forged, KEYS)


def test_legacy_token_verifies_only_where_the_store_key_is_mapped_to_no_id() -> None:
    """A token without a key id verifies with the key under "" and is unknown where none is."""
    token = tracking_token.sign(_payload(""), KEY_A)
    assert tracking_token.verify_with(token, {"": KEY_A}) == _payload("")
    with pytest.raises(tracking_token.UnknownSigningKeyError):
        tracking_token.verify_with(token, KEYS)


@pytest.mark.parametrize("token", ["", "abc", "abc.", ".abc", "!!!.???", "YWJj.YWJj", "é.é"])
def test_malformed_tokens_raise_invalid_token_error(token: str) -> None:
    """Garbage never verifies and raises only InvalidTokenError."""
    with pytest.raises(tracking_token.InvalidTokenError):
        tracking_token.verify_with(token, KEYS)


def test_peek_key_id_reads_the_claimed_key_without_verifying() -> None:
    """peek_key_id gives the key id a token claims (to load that key), "" for a legacy token."""
    assert tracking_token.peek_key_id(tracking_token.sign(_payload("bbbbbbbbbbbbbbbb"), b"x")) == "bbbbbbbbbbbbbbbb"
    assert tracking_token.peek_key_id(tracking_token.sign(_payload(""), KEY_A)) == ""


def test_peek_key_id_of_garbage_is_invalid_token_error() -> None:
    """A value that is not a token raises InvalidTokenError from peek_key_id too."""
    with pytest.raises(tracking_token.InvalidTokenError):
        tracking_token.peek_key_id("not a token")


def test_signer_tokens_with_a_key_id_verify_with() -> None:
    """The edge's Signer, unchanged, makes tokens that verify_with accepts when the payload names its key."""
    raw = _payload("bbbbbbbbbbbbbbbb").SerializeToString(deterministic=True)
    token = tracking_token.Signer(KEY_B).sign_serialized(raw).decode("ascii")
    assert tracking_token.verify_with(token, KEYS) == _payload("bbbbbbbbbbbbbbbb")
