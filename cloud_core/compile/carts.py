"""A store's enrolled carts as its index carries them: each credential's id, cart, secret digest and
traffic class, sorted by credential id (a keyed list, so a revocation travels as a small delta). Pure.

The digest is all an edge needs to verify a cart's credential; the secret itself never leaves the
cart, so neither the index nor the edge's disk yields a credential.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cartads.v1 import common_pb2, index_pb2


@dataclass(frozen=True, slots=True)
class EnrolledCart:
    """A cart of the store with its current, unrevoked credential."""

    credential_id: str
    cart_id: str
    # SHA-256 of the credential's secret (cartads.cart_credential.secret_digest).
    secret_sha256: bytes
    traffic_class: common_pb2.CartTrafficClass = common_pb2.CART_TRAFFIC_CLASS_PRODUCTION

    def __repr__(self) -> str:
        # Digests are not secrets, but nothing about a credential belongs in a log line by accident.
        return f"EnrolledCart(credential_id={self.credential_id!r}, cart_id={self.cart_id!r})"


def index_carts(carts: Iterable[EnrolledCart]) -> list[index_pb2.IndexCart]:
    """The index's ``carts``: one entry per credential, in credential id order."""
    return [
        index_pb2.IndexCart(
            credential_id=cart.credential_id,
            cart_id=cart.cart_id,
            secret_sha256=cart.secret_sha256,
            traffic_class=cart.traffic_class,
        )
        for cart in sorted(carts, key=lambda c: c.credential_id)
    ]
