"""The pure cart authenticator: credentials checked against one index's carts, cached per carts table."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from cartads import cart_credential
from cartads.rpc.errors import PermissionDeniedError, UnauthenticatedError
from edge_node.index.carts import EnrolledCart, enrolled_carts
from edge_node.serving.cart_auth import CartAuthenticator
from tests.cart_credentials import credential_of, index_cart

STORE = "store-1"


def carts(*cart_ids: str) -> Mapping[str, EnrolledCart]:
    return enrolled_carts(index_cart(c, STORE, traffic_class=2 if c == "staff" else 0) for c in cart_ids)


def test_enrolled_credential_is_its_cart() -> None:
    """An enrolled cart's credential authenticates as its cart id, credential id and traffic class."""
    table = carts("cart-1", "staff")
    auth = CartAuthenticator(STORE)
    cart = auth.authenticate(credential_of("staff", STORE), table)
    parsed = cart_credential.parse(credential_of("staff", STORE))
    assert (cart.cart_id, cart.credential_id, cart.traffic_class) == ("staff", parsed.credential_id, 2)


def test_missing_credential_is_unauthenticated_naming_the_field() -> None:
    """No credential at all: UNAUTHENTICATED with a cart_credential field violation."""
    with pytest.raises(UnauthenticatedError) as caught:
        CartAuthenticator(STORE).authenticate("", carts("cart-1"))
    assert [field for field, _ in caught.value.violations] == ["cart_credential"]


def test_malformed_credential_is_unauthenticated_and_not_echoed() -> None:
    """A malformed credential is UNAUTHENTICATED and the message never repeats what was sent."""
    sent = "v1:store-1:abc:not-a-secret-at-all"
    with pytest.raises(UnauthenticatedError) as caught:
        CartAuthenticator(STORE).authenticate(sent, carts("cart-1"))
    assert "not-a-secret" not in caught.value.message


def test_forged_secret_is_unauthenticated_and_not_echoed() -> None:
    """An enrolled credential id with another secret is UNAUTHENTICATED; the secret is not in the message."""
    real = cart_credential.parse(credential_of("cart-1", STORE))
    forged = cart_credential.format_credential(cart_credential.CartCredential(STORE, real.credential_id, bytes(32)))
    with pytest.raises(UnauthenticatedError) as caught:
        CartAuthenticator(STORE).authenticate(forged, carts("cart-1"))
    assert forged.rsplit(":", 1)[1] not in caught.value.message


def test_another_stores_credential_is_permission_denied() -> None:
    """A well-formed credential of another store is PERMISSION_DENIED naming cart_credential."""
    with pytest.raises(PermissionDeniedError) as caught:
        CartAuthenticator(STORE).authenticate(credential_of("cart-1", "store-2"), carts("cart-1"))
    assert [field for field, _ in caught.value.violations] == ["cart_credential"]


def test_revoked_cart_fails_once_the_index_without_it_arrives() -> None:
    """A credential verified (and cached) under one index fails under the next one that lacks its cart."""
    auth = CartAuthenticator(STORE)
    credential = credential_of("cart-1", STORE)
    auth.authenticate(credential, carts("cart-1", "cart-2"))
    with pytest.raises(UnauthenticatedError):
        auth.authenticate(credential, carts("cart-2"))


def test_forged_credentials_are_never_cached() -> None:
    """A flood of refused credentials leaves the cache empty (it cannot evict honest carts)."""
    auth = CartAuthenticator(STORE, max_cached=4)
    table = carts("cart-1")
    for n in range(50):
        forged = cart_credential.format_credential(
            cart_credential.CartCredential(STORE, f"x{n}", n.to_bytes(32, "big"))
        )
        with pytest.raises(UnauthenticatedError):
            auth.authenticate(forged, table)
    assert auth.cached() == 0


def test_cache_is_bounded() -> None:
    """More verified carts than the cache holds keep it at its bound, and every cart still authenticates."""
    ids = [f"cart-{n}" for n in range(10)]
    table = carts(*ids)
    auth = CartAuthenticator(STORE, max_cached=3)
    for cart_id in ids * 2:
        assert auth.authenticate(credential_of(cart_id, STORE), table).cart_id == cart_id
    assert auth.cached() == 3
