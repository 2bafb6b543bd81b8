"""The compiler puts a store's enrolled carts into its index: sorted, digest only, a keyed list for deltas."""

from __future__ import annotations

import base64
from dataclasses import replace

from cartads import cart_credential
from cartads.index.delta import apply_delta, compute_delta
from cartads.index.version import content_version
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.compile.carts import EnrolledCart
from cloud_core.compile.compiler import CompileInput, CompileSettings, compile_store_index
from tests.cloud_core.helpers import AISLES, DEPARTMENTS, NOW, PRODUCTS, campaign, creative, line_item

INPUT = CompileInput(
    store=admin_pb2.Store(store_id="s1", display_name="Test Market", time_zone="UTC"),
    signing_key=b"k" * 32,
    aisles=AISLES,
    departments=DEPARTMENTS,
    products=PRODUCTS,
    campaigns=[campaign()],
    line_items=[line_item()],
    creatives=[creative()],
    campaign_spend_micros={},
)


def _fixed_bytes(seed: int) -> cart_credential.CartCredential:
    """A credential whose secret bytes are known, made the way the cloud makes one."""
    counter = iter(range(seed, seed + 1000))

    def token_bytes(n: int) -> bytes:
        return bytes(next(counter) % 256 for _ in range(n))

    return cart_credential.new_credential("s1", token_bytes)[1]


def enrolled(
    credential: cart_credential.CartCredential,
    cart_id: str,
    traffic_class: common_pb2.CartTrafficClass = common_pb2.CART_TRAFFIC_CLASS_PRODUCTION,
) -> EnrolledCart:
    return EnrolledCart(
        credential_id=credential.credential_id,
        cart_id=cart_id,
        secret_sha256=cart_credential.secret_digest(credential.secret),
        traffic_class=traffic_class,
    )


CRED_A, CRED_B, CRED_C = _fixed_bytes(7), _fixed_bytes(40), _fixed_bytes(90)


def test_carts_are_sorted_by_credential_id_with_digest_and_class() -> None:
    """Each enrolled cart is one entry in credential id order, carrying its digest and traffic class."""
    carts = [enrolled(CRED_C, "cart-c"), enrolled(CRED_A, "cart-a", common_pb2.CART_TRAFFIC_CLASS_STAFF)]
    index = compile_store_index(replace(INPUT, carts=carts), CompileSettings(), NOW)
    expected = sorted([(CRED_C.credential_id, "cart-c", 1), (CRED_A.credential_id, "cart-a", 3)])
    assert [(c.credential_id, c.cart_id, c.traffic_class) for c in index.carts] == expected
    by_id = {c.credential_id: c.secret_sha256 for c in index.carts}
    assert cart_credential.matches(CRED_A.secret, by_id[CRED_A.credential_id])


def test_the_serialized_index_never_holds_a_secret() -> None:
    """Neither a secret's bytes nor its base64url text appear anywhere in the index's bytes."""
    carts = [enrolled(c, f"cart-{i}") for i, c in enumerate((CRED_A, CRED_B, CRED_C))]
    wire = compile_store_index(replace(INPUT, carts=carts), CompileSettings(), NOW).SerializeToString()
    for credential in (CRED_A, CRED_B, CRED_C):
        text = base64.urlsafe_b64encode(credential.secret).rstrip(b"=")
        assert credential.secret not in wire
        assert text not in wire
        assert cart_credential.secret_digest(credential.secret) in wire


def test_carts_change_the_index_version() -> None:
    """Enrolling a cart gives the index another version, so edges are sent it."""
    without = compile_store_index(INPUT, CompileSettings(), NOW)
    with_cart = compile_store_index(replace(INPUT, carts=[enrolled(CRED_A, "cart-a")]), CompileSettings(), NOW)
    assert without.version != with_cart.version


def test_a_revocation_travels_as_a_removed_key() -> None:
    """The delta from an index to the same index less one cart only removes that credential id."""
    carts = [enrolled(c, f"cart-{i}") for i, c in enumerate((CRED_A, CRED_B, CRED_C))]
    before = compile_store_index(replace(INPUT, carts=carts), CompileSettings(), NOW)
    after = compile_store_index(replace(INPUT, carts=carts[:1] + carts[2:]), CompileSettings(), NOW)
    delta = compute_delta(before, after)
    assert [(r.field, list(r.keys)) for r in delta.removed] == [("carts", [CRED_B.credential_id])]
    assert list(delta.replaced_fields) == []
    assert delta.upserted.ByteSize() == 0
    rebuilt = apply_delta(before, delta)
    assert content_version(rebuilt) == after.version
