"""Enrolled carts for tests that call an edge: every GetAds and ReportEvents carries a credential.

- Hand-built indexes (``tests.edge_node.helpers.make_index``) enrol ``TEST_CART_IDS`` with
  credentials derived from the store and cart id (``credential_of``), so any test can compute the
  credential of a cart of such an index.
- Against a real cloud, ``CloudEnroller`` enrols each cart through the AdminService the first time a
  call names it, and waits until the edge holds an index with it.
- ``CredentialInterceptor`` puts the credential of the call's cart (the request's ``cart_id``, else
  its first event's) in every AdService call that carries none, so tests written before carts had
  credentials keep saying only what they test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import grpc

from cartads import cart_credential
from cartads.v1 import admin_pb2
from cartads.v1.ad_service_pb2 import GetAdsRequest, ReportEventsRequest
from cartads.v1.index_pb2 import IndexCart

# Every cart id the edge tests name; ``make_index`` enrols them all.
TEST_CART_IDS = (
    "c", "c1", "c2", "c-1", "cart", *(f"cart-{n}" for n in range(10)), "cart-a", "cart-b",
    "cart-h", "cart-end", "cart-after", "cart-marker", "cart-offline", "cart-gone", "cart-kept", "bug",
    "refuse", "ghost", "bad", "honest", "flood",
)  # fmt: skip


def _parts(store_id: str, cart_id: str) -> cart_credential.CartCredential:
    seed = hashlib.sha256(f"test-cart:{store_id}:{cart_id}".encode()).digest()
    return cart_credential.CartCredential(store_id, "t" + seed[:8].hex(), hashlib.sha256(seed).digest())


def credential_of(cart_id: str, store_id: str = "store-1") -> str:
    """The credential of ``cart_id`` in a hand-built index of ``store_id`` (deterministic)."""
    return cart_credential.format_credential(_parts(store_id, cart_id))


def index_cart(cart_id: str, store_id: str = "store-1", traffic_class: int = 0) -> IndexCart:
    """The index entry of ``credential_of(cart_id, store_id)``."""
    parts = _parts(store_id, cart_id)
    return IndexCart(
        credential_id=parts.credential_id,
        cart_id=cart_id,
        secret_sha256=cart_credential.secret_digest(parts.secret),
        traffic_class=traffic_class,  # type: ignore[arg-type]
    )


def index_carts(store_id: str, cart_ids: Iterable[str] = TEST_CART_IDS) -> list[IndexCart]:
    """Index entries of the test carts, sorted by credential id as the cloud compiles them."""
    return sorted((index_cart(c, store_id) for c in cart_ids), key=lambda c: c.credential_id)


def _cart_of(request: Any) -> str:
    if isinstance(request, ReportEventsRequest) and not request.cart_id and request.events:
        return str(request.events[0].cart_id)
    return str(request.cart_id)


CredentialFor = Callable[[str], Awaitable[str | None]]

if TYPE_CHECKING:
    _AioUnaryUnary = grpc.aio.UnaryUnaryClientInterceptor[Any, Any]
else:
    _AioUnaryUnary = grpc.aio.UnaryUnaryClientInterceptor


class CredentialInterceptor(_AioUnaryUnary):
    """Fills ``cart_credential`` of AdService calls that carry none, from ``credential_for(cart_id)``."""

    def __init__(self, credential_for: CredentialFor) -> None:
        self._credential_for = credential_for

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        if isinstance(request, GetAdsRequest | ReportEventsRequest) and not request.cart_credential:
            request = _with_credential(request, await self._credential_for(_cart_of(request)))
        return await continuation(client_call_details, request)


def derived_credentials(store_id: str = "store-1", cart_ids: Iterable[str] = TEST_CART_IDS) -> CredentialFor:
    """``credential_for`` of hand-built indexes: the derived credential of each test cart."""
    known = frozenset(cart_ids)

    async def credential_for(cart_id: str) -> str | None:
        return credential_of(cart_id, store_id) if cart_id in known else None

    return credential_for


class CloudEnroller:
    """``credential_for`` against a real cloud: enrols a cart through AdminService when first named,
    then waits until ``holds(credential_id)`` (the edge's index has it)."""

    def __init__(self, admin: Any, store_id: str, holds: Callable[[str], bool], *, timeout_s: float = 10.0) -> None:
        self._admin = admin
        self._store_id = store_id
        self._holds = holds
        self._timeout_s = timeout_s
        self.credentials: dict[str, str] = {}

    async def enroll(self, cart_id: str) -> str:
        """The credential of ``cart_id``, enrolling it (and waiting for the edge to know it) once."""
        from tests.eventually import eventually

        credential = self.credentials.get(cart_id)
        if credential is None:
            response = await self._admin.CreateCart(
                admin_pb2.CreateCartRequest(cart=admin_pb2.Cart(store_id=self._store_id, cart_id=cart_id))
            )
            credential = self.credentials[cart_id] = response.credential
            credential_id = cart_credential.parse(credential).credential_id
            await eventually(
                lambda: self._holds(credential_id), timeout_s=self._timeout_s, what=f"edge knows cart {cart_id}"
            )
        return credential

    async def enroll_many(self, cart_ids: Iterable[str]) -> None:
        """Enrol carts ahead of their calls, waiting once for an index that has them all."""
        from tests.eventually import eventually

        wanted = []
        for cart_id in cart_ids:
            if cart_id in self.credentials:
                continue
            response = await self._admin.CreateCart(
                admin_pb2.CreateCartRequest(cart=admin_pb2.Cart(store_id=self._store_id, cart_id=cart_id))
            )
            self.credentials[cart_id] = response.credential
            wanted.append(cart_credential.parse(response.credential).credential_id)
        await eventually(
            lambda: all(self._holds(c) for c in wanted), timeout_s=self._timeout_s, what="edge knows the carts"
        )

    async def __call__(self, cart_id: str) -> str | None:
        if not cart_id or len(cart_id) > 64 or cart_id.strip() != cart_id:
            return None  # not a cart id the cloud would enrol: the call goes without a credential
        return await self.enroll(cart_id)


def _with_credential(request: Any, credential: str | None) -> Any:
    if not credential:
        return request
    copy = type(request)()
    copy.CopyFrom(request)
    copy.cart_credential = credential
    return copy


class _SyncCredentialInterceptor(grpc.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    def __init__(self, store_id: str) -> None:
        self._store_id = store_id

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        if isinstance(request, GetAdsRequest | ReportEventsRequest) and not request.cart_credential:
            cart_id = _cart_of(request)
            if cart_id in TEST_CART_IDS:
                request = _with_credential(request, credential_of(cart_id, self._store_id))
        return continuation(client_call_details, request)


def ad_channel(address: str, credential_for: CredentialFor) -> grpc.aio.Channel:
    """An aio channel to an edge whose AdService calls carry ``credential_for(cart_id)`` when they have none."""
    interceptors: Any = [CredentialInterceptor(credential_for)]
    return grpc.aio.insecure_channel(address, interceptors=interceptors)


def credentialed_channel(address: str, store_id: str = "store-1") -> grpc.aio.Channel:
    """An aio channel to an edge serving a hand-built index: test carts' calls carry their credential."""
    return ad_channel(address, derived_credentials(store_id))


def credentialed_sync_channel(address: str, store_id: str = "store-1") -> grpc.Channel:
    """``credentialed_channel`` for the blocking gRPC API."""
    return grpc.intercept_channel(grpc.insecure_channel(address), _SyncCredentialInterceptor(store_id))


async def enroll_cart(admin: Any, store_id: str, cart_id: str) -> str:
    """Enrol ``cart_id`` through a real cloud's AdminService; its credential (shown only this once)."""
    cart = admin_pb2.Cart(store_id=store_id, cart_id=cart_id)
    response = await admin.CreateCart(admin_pb2.CreateCartRequest(cart=cart))
    return str(response.credential)


def fixed_credentials(credentials: dict[str, str]) -> CredentialFor:
    """``credential_for`` of carts enrolled beforehand (cart id -> credential)."""

    async def credential_for(cart_id: str) -> str | None:
        return credentials.get(cart_id)

    return credential_for
