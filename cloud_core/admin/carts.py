"""AdminService's carts: enrol (CreateCart), get, list, update, revoke (admin tokens write, viewer
tokens read; see ``cloud_core.access.policy``).

Enrolling makes the cart's credential (``cartads.cart_credential``): its string leaves the cloud
once, in CreateCart's answer, and only its secret's SHA-256 is stored. The store's next index carries
the digest to its edges; a revocation is the next index without it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

import structlog

from cartads import cart_credential
from cartads.rpc.errors import NotFoundError
from cartads.time_units import dt_to_us
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, next_token
from cloud_core.admin.request_checks import existing, merge, raise_if
from cloud_core.storage.protocol import CartStore, CatalogStore
from cloud_core.sync.notifier import ChangeNotifier

log = structlog.get_logger("cloud.carts")


def _with_class(cart: admin_pb2.Cart) -> admin_pb2.Cart:
    """``cart`` with an unspecified traffic class spelled out: a cart is production unless marked."""
    if cart.traffic_class == common_pb2.CART_TRAFFIC_CLASS_UNSPECIFIED:
        cart.traffic_class = common_pb2.CART_TRAFFIC_CLASS_PRODUCTION
    return cart


class CartAdmin:
    """The cart methods; each change is announced to the store's index stream at once (the store
    also counts it in the write's transaction, for the other replicas)."""

    def __init__(
        self,
        carts: CartStore,
        catalog: CatalogStore,
        notifier: ChangeNotifier,
        clock: Callable[[], datetime],
        token_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._carts = carts
        self._catalog = catalog
        self._notifier = notifier
        self._clock = clock
        # The credential's randomness; injected so tests can fix it.
        self._token_bytes = token_bytes

    async def create(self, request: admin_pb2.CreateCartRequest) -> admin_pb2.CreateCartResponse:
        """Enrol the cart; ALREADY_EXISTS while it is enrolled, a new credential when it was revoked."""
        given = request.cart
        # Output-only fields of the request are ignored, as AIP-203 has it.
        cart = _with_class(
            admin_pb2.Cart(
                store_id=given.store_id,
                cart_id=given.cart_id,
                display_name=given.display_name,
                traffic_class=given.traffic_class,
            )
        )
        raise_if(v.validate_cart(cart))
        text, credential = cart_credential.new_credential(cart.store_id, self._token_bytes)
        created = await self._carts.create_cart(
            cart, credential.credential_id, cart_credential.secret_digest(credential.secret), dt_to_us(self._clock())
        )
        self._notifier.notify([cart.store_id])
        log.info("cart_enrolled", store_id=cart.store_id, cart_id=cart.cart_id, credential_id=credential.credential_id)
        return admin_pb2.CreateCartResponse(cart=created, credential=text)

    async def get(self, request: admin_pb2.GetCartRequest) -> admin_pb2.GetCartResponse:
        raise_if(v.check_cart_name(request.store_id, request.cart_id))
        return admin_pb2.GetCartResponse(cart=await self._existing(request.store_id, request.cart_id, ""))

    async def list_page(self, request: admin_pb2.ListCartsRequest) -> admin_pb2.ListCartsResponse:
        raise_if(v.check_id(request.store_id, "store_id"))
        query = f"carts:{request.store_id}:{int(request.show_revoked)}"
        page = decode_request(request.page_size, request.page_token, query)
        await existing("store", request.store_id, "store_id", self._catalog.get_store)
        rows = await self._carts.list_carts(request.store_id, page, request.show_revoked)
        token = next_token([r.cart_id for r in rows], page.limit, query)
        return admin_pb2.ListCartsResponse(carts=rows[: page.limit], next_page_token=token)

    async def update(self, request: admin_pb2.UpdateCartRequest) -> admin_pb2.UpdateCartResponse:
        """Changes display_name and traffic_class, those of the mask (both when it is empty)."""
        raise_if(v.check_cart_name(request.cart.store_id, request.cart.cart_id, "cart."))
        current = await self._existing(request.cart.store_id, request.cart.cart_id, "cart.")
        merged = _with_class(merge(current, request.cart, request.update_mask, "cart"))
        raise_if(v.validate_cart(merged))
        paths = v.effective_paths(list(request.update_mask.paths), "cart")
        updated = await self._carts.update_cart(merged, paths)
        if updated is None:
            raise self._not_found(merged.store_id, merged.cart_id, "cart.")
        self._notifier.notify([merged.store_id])
        return admin_pb2.UpdateCartResponse(cart=updated)

    async def revoke(self, request: admin_pb2.RevokeCartRequest) -> admin_pb2.RevokeCartResponse:
        """Revokes the cart's credential (idempotent: a revoked cart keeps its first revoke_time)."""
        raise_if(v.check_cart_name(request.store_id, request.cart_id))
        revoked = await self._carts.revoke_cart(request.store_id, request.cart_id, dt_to_us(self._clock()))
        if revoked is None:
            raise self._not_found(request.store_id, request.cart_id, "")
        self._notifier.notify([request.store_id])
        log.info(
            "cart_revoked", store_id=revoked.store_id, cart_id=revoked.cart_id, credential_id=revoked.credential_id
        )
        return admin_pb2.RevokeCartResponse(cart=revoked)

    async def _existing(self, store_id: str, cart_id: str, prefix: str) -> admin_pb2.Cart:
        cart = await self._carts.get_cart(store_id, cart_id)
        if cart is None:
            raise self._not_found(store_id, cart_id, prefix)
        return cart

    @staticmethod
    def _not_found(store_id: str, cart_id: str, prefix: str) -> NotFoundError:
        return NotFoundError(f"cart {cart_id!r} of store {store_id!r} does not exist", f"{prefix}cart_id")
