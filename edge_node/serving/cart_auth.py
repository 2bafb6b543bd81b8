"""Which enrolled cart is calling: a credential checked against the index's carts, no round trip.

A cart sends its whole credential (``cartads.cart_credential``) on every call. The first call with
a credential string parses it, finds its credential id among the current index's carts and checks
the secret against the digest there; the string is then cached, so every later call is one dict
hit. The cache belongs to one carts table: a new index version (which may have revoked a cart)
starts it afresh, so a revoked cart fails on its first call after the index without it arrives.
Refusals are never cached (a flood of forged strings must not evict honest carts), and no message
repeats the credential. No I/O and no clock; refusals are the shared errors ``cartads.rpc.errors``
maps to statuses (which is why it is not listed among the pure cores: they import no gRPC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cartads import cart_credential
from cartads.rpc.errors import PermissionDeniedError, UnauthenticatedError
from edge_node.index.carts import EnrolledCart

FIELD = "cart_credential"
# Enough for every cart of a large store with a few credentials each; beyond it the oldest go first.
DEFAULT_MAX_CACHED = 50_000
_UNKNOWN = "is not the credential of a cart enrolled to this store (unknown, revoked, or a wrong secret)"


@dataclass(frozen=True, slots=True)
class AuthenticatedCart:
    """The cart a call comes from: its id is the one caps, tokens, journaled events and billing use."""

    cart_id: str
    credential_id: str
    # cartads.v1.CartTrafficClass of the cart.
    traffic_class: int


def _unauthenticated(why: str) -> UnauthenticatedError:
    return UnauthenticatedError(f"{FIELD} {why}", [(FIELD, why)])


class CartAuthenticator:
    """Verifies cart credentials against one carts table at a time, caching the verified strings."""

    def __init__(self, store_id: str, max_cached: int = DEFAULT_MAX_CACHED) -> None:
        self._store_id = store_id
        self._max_cached = max(1, max_cached)
        self._carts: Mapping[str, EnrolledCart] | None = None
        self._verified: dict[str, AuthenticatedCart] = {}

    def authenticate(self, credential: str, carts: Mapping[str, EnrolledCart]) -> AuthenticatedCart:
        """The cart ``credential`` belongs to under ``carts`` (the serving view's); raises
        UnauthenticatedError (missing, malformed, unknown, revoked, forged) or PermissionDeniedError
        (another store's cart)."""
        if carts is not self._carts:
            # Another index version: what was verified against the old one may be revoked now.
            self._carts = carts
            self._verified = {}
        cart = self._verified.get(credential)
        if cart is not None:
            return cart
        cart = self._verify(credential, carts)
        if len(self._verified) >= self._max_cached:
            del self._verified[next(iter(self._verified))]
        self._verified[credential] = cart
        return cart

    def _verify(self, credential: str, carts: Mapping[str, EnrolledCart]) -> AuthenticatedCart:
        if not credential:
            raise _unauthenticated("is required: the credential `cartads-admin carts enroll` issued for this cart")
        try:
            parsed = cart_credential.parse(credential)
        except cart_credential.MalformedCredentialError as exc:
            raise _unauthenticated(f"is malformed: {exc}") from None
        if parsed.store_id != self._store_id:
            why = f"is a credential of another store than {self._store_id!r}"
            raise PermissionDeniedError(f"{FIELD} {why}", FIELD)
        enrolled = carts.get(parsed.credential_id)
        if enrolled is None or not cart_credential.matches(parsed.secret, enrolled.secret_sha256):
            raise _unauthenticated(_UNKNOWN)
        return AuthenticatedCart(enrolled.cart_id, enrolled.credential_id, enrolled.traffic_class)

    def cached(self) -> int:
        """How many verified credentials are cached (for tests and metrics)."""
        return len(self._verified)
