"""The step between a cart's call and serving it: which cart it is, and whether it may ask now.

Every GetAds, ReportEvents and GetStoreInfo call is authenticated (``cart_auth``) against the serving view's
carts; the authenticated cart id replaces an empty request ``cart_id`` and must equal one that is
set; the cart's call and event buckets (``cart_quota``) and its share of the journal are checked
against the view's CartLimits. Only this cart is refused when it is over: every other cart is
served as before.
"""

from __future__ import annotations

from cartads.ops.logs import clip
from cartads.rpc.errors import InvalidArgumentError, PermissionDeniedError, ResourceExhaustedError
from cartads.v1.ad_service_pb2 import GetAdsRequest, GetStoreInfoRequest, ReportEventsRequest
from edge_node.config import EdgeConfig
from edge_node.index.view import ServingView
from edge_node.serving.cart_auth import AuthenticatedCart, CartAuthenticator
from edge_node.serving.cart_quota import CartQuotas

_BPS = 10_000
# A cart at its journal share waits for uploads, which take about this long once the cloud is back.
_JOURNAL_SHARE_RETRY_S = 1.0


def _same_cart(cart: AuthenticatedCart, claimed: str, field: str, max_id_chars: int) -> None:
    if claimed and claimed != cart.cart_id:
        if len(claimed) > max_id_chars:  # not an id at all: the request is malformed, whoever sends it
            raise InvalidArgumentError([(field, f"is longer than {max_id_chars} characters")])
        raise PermissionDeniedError(f"{field} {clip(claimed)!r} is not the cart cart_credential was issued to", field)


def _over_rate(what: str, wait_s: float) -> ResourceExhaustedError:
    return ResourceExhaustedError(f"this cart is over its {what} limit; retry in {wait_s:.3f} s", retry_delay_s=wait_s)


class CartGate:
    """Authenticates and meters the calls of each cart (state bounded by ``cart_state_max_carts``)."""

    def __init__(self, config: EdgeConfig) -> None:
        self.enabled = config.cart_auth
        self._auth = CartAuthenticator(config.store_id, config.cart_state_max_carts)
        self._quotas = CartQuotas(config.cart_state_max_carts)
        self._journal_soft_limit_bytes = config.journal_soft_limit_bytes
        # A cart's share is never less than one whole report's bytes (the largest request).
        self._min_share_bytes = config.max_request_bytes
        self._max_id_chars = config.max_id_chars
        # journal_share of the last limits seen: read on every GetAds, the same for a whole index version.
        self._share_of: tuple[object, int] = (None, 0)

    def journal_share(self, view: ServingView) -> int:
        """How many bytes of unsent events one cart may have in the journal before it is held back: its
        share of the soft limit, and never less than one full report (a tiny journal is held back as a whole)."""
        limits = view.cart_limits
        cached_for, share = self._share_of
        if cached_for is not limits:
            share = max(self._min_share_bytes, self._journal_soft_limit_bytes * limits.journal_share_bps // _BPS)
            self._share_of = (limits, share)
        return share

    def admit_get_ads(self, request: GetAdsRequest, view: ServingView, now_s: float) -> AuthenticatedCart:
        """The calling cart, its id now in ``request.cart_id``; raises when it may not be served now."""
        cart = self._auth.authenticate(request.cart_credential, view.carts)
        claimed = request.cart_id
        if claimed != cart.cart_id:
            _same_cart(cart, claimed, "cart_id", self._max_id_chars)
            request.cart_id = cart.cart_id
        wait_s = self._quotas.take_call(cart.cart_id, view.cart_limits, now_s)
        if wait_s:
            raise _over_rate("calls per second", wait_s)
        return cart

    def admit_store_info(self, request: GetStoreInfoRequest, view: ServingView, now_s: float) -> AuthenticatedCart:
        """The asking cart; raises when a claimed cart id is not its own or it is over its call rate."""
        cart = self._auth.authenticate(request.cart_credential, view.carts)
        _same_cart(cart, request.cart_id, "cart_id", self._max_id_chars)
        wait_s = self._quotas.take_call(cart.cart_id, view.cart_limits, now_s)
        if wait_s:
            raise _over_rate("calls per second", wait_s)
        return cart

    def admit_report(self, request: ReportEventsRequest, view: ServingView, now_s: float) -> AuthenticatedCart:
        """The reporting cart, its id now in ``request.cart_id``; raises when a claimed cart id is not
        its own or it is over its call rate."""
        cart = self._auth.authenticate(request.cart_credential, view.carts)
        _same_cart(cart, request.cart_id, "cart_id", self._max_id_chars)
        for i, event in enumerate(request.events):
            _same_cart(cart, event.cart_id, f"events[{i}].cart_id", self._max_id_chars)
        request.cart_id = cart.cart_id
        wait_s = self._quotas.take_call(cart.cart_id, view.cart_limits, now_s)
        if wait_s:
            raise _over_rate("calls per second", wait_s)
        return cart

    def admit_events(self, cart: AuthenticatedCart, count: int, unsent: int, view: ServingView, now_s: float) -> None:
        """Whether ``cart`` (holding ``unsent`` bytes of journaled events) may journal ``count`` more now."""
        share = self.journal_share(view)
        if unsent >= share:
            raise ResourceExhaustedError(
                f"this cart's {unsent} bytes of unsent events fill its share of the edge's journal ({share} bytes); "
                f"retry once they are uploaded",
                retry_delay_s=_JOURNAL_SHARE_RETRY_S,
            )
        wait_s = self._quotas.take_events(cart.cart_id, count, view.cart_limits, now_s)
        if wait_s:
            raise _over_rate("events per second", wait_s)
