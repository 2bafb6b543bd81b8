"""The carts enrolled to this store, as one index version lists them: what the edge verifies a
cart's credential against (a digest, never the secret), and the per-cart limits it enforces. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cartads.v1.index_pb2 import IndexCart


@dataclass(frozen=True, slots=True)
class EnrolledCart:
    """One enrolled, unrevoked cart (``index_pb2.IndexCart``)."""

    credential_id: str
    # The authenticated cart id: the one frequency caps, tokens, journaled events and billing use.
    cart_id: str
    secret_sha256: bytes
    # cartads.v1.CartTrafficClass; only production carts' events are billed.
    traffic_class: int


def enrolled_carts(carts: Iterable[IndexCart]) -> Mapping[str, EnrolledCart]:
    """The index's carts keyed by credential id (the part of a credential the edge looks up)."""
    return MappingProxyType(
        {
            c.credential_id: EnrolledCart(c.credential_id, c.cart_id, bytes(c.secret_sha256), int(c.traffic_class))
            for c in carts
        }
    )
