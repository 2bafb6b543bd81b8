"""Sales attribution at checkout: purchased products credited to the ads that reached the shopper. Pure.

The model (README, "Measurement"): within one trip the edge remembers each valid click and viewable
impression of an ad that promotes products, and the trip's basket (adds minus removes). At checkout
each purchased product counts up to what the trip added (a product removed before checkout, or
never scanned, is not a sale; a claimed quantity above the basket's is cut to it) and is credited
to one ad, last touch: the latest click inside its campaign's click-through window, else the latest
viewable impression inside its view-through window (CLICK_THROUGH / VIEW_THROUGH). The trip itself
is always inside both windows. A product of the same brand as an ad's promoted products, promoted
by none of the ads that reached the shopper, is a halo sale of the ad by the same rule.

With a pseudonymous loyalty id at checkout, the trip's touches are kept under that id, and a later
checkout with the same id is also credited to them while they are inside their windows (a window of
0 never reaches past its own trip). A loyalty id checked out on more carts than
``loyalty_max_carts`` within ``loyalty_share_window_ms`` is shared (a store card at the till, a
copied id): it links nothing while that lasts.

One sale per trip and product: its event id is derived from the cart, the trip and the product, so
a replayed checkout (a second checkout of a trip is ignored too) can never count twice. Times are
the edge's receive times, never the cart's clock.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CLICK_THROUGH = 2  # cartads.v1.AttributionKind values (the pure core imports no protobuf)
VIEW_THROUGH = 1


@dataclass(frozen=True, slots=True)
class AdReach:
    """What sales attribution needs to know of one ad, from its verified token and the index."""

    ad_id: str
    tracking_token: str
    promoted_product_ids: frozenset[str]
    promoted_brands: frozenset[str]
    click_through_window_ms: int = 0
    view_through_window_ms: int = 0


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """A purchased product as the store's index knows it."""

    brand: str = ""
    unit_price_micros: int = 0


@dataclass(frozen=True, slots=True)
class Sale:
    """One purchased product credited to one ad."""

    event_id: str
    product_id: str
    quantity: int
    unit_price_micros: int
    attribution: int
    halo: bool
    ad_id: str
    tracking_token: str
    # The touch was on an earlier trip (linked by the loyalty id).
    cross_trip: bool


@dataclass(frozen=True, slots=True)
class SalesPolicy:
    """How much the edge remembers, and when a loyalty id counts as shared."""

    max_trips: int = 100_000
    max_loyalty_ids: int = 100_000
    max_touches_per_loyalty_id: int = 200
    # The longest window any campaign may have (cartads.sales_windows.MAX_WINDOW_S): older touches
    # can credit nothing, so they are forgotten.
    max_window_ms: int = 14 * 24 * 3600 * 1000
    loyalty_max_carts: int = 2
    loyalty_share_window_ms: int = 3600 * 1000
    # A sale's units are capped at what one event may carry (cartads.bounds.MAX_QUANTITY).
    max_quantity: int = 999


@dataclass(slots=True)
class _Touch:
    ad: AdReach
    click_ms: int | None = None
    view_ms: int | None = None

    def last_ms(self) -> int:
        return max(t for t in (self.click_ms, self.view_ms) if t is not None)


@dataclass
class _Trip:
    touches: dict[str, _Touch] = field(default_factory=dict)
    basket: dict[str, int] = field(default_factory=dict)
    checked_out: bool = False


@dataclass
class _Shopper:
    # Touches of earlier trips, oldest first.
    touches: list[_Touch] = field(default_factory=list)
    # The carts this id was checked out on, with when (for the shared-id rule).
    carts: dict[str, int] = field(default_factory=dict)


def sale_event_id(cart_id: str, session_id: str, product_id: str) -> str:
    """Deterministic per trip and product, and of bounded length whatever the ids' lengths."""
    digest = hashlib.sha256("\x00".join((cart_id, session_id, product_id)).encode()).hexdigest()
    return f"sale:{digest[:40]}"


def _qualifies(touch: _Touch, at_ms: int, in_trip: bool) -> tuple[int, int] | None:
    """(kind, touch time) this touch can credit a purchase at ``at_ms`` with: a click beats a view."""
    ad = touch.ad
    for kind, touch_ms, window_ms in (
        (CLICK_THROUGH, touch.click_ms, ad.click_through_window_ms),
        (VIEW_THROUGH, touch.view_ms, ad.view_through_window_ms),
    ):
        if touch_ms is not None and (in_trip or 0 <= at_ms - touch_ms <= window_ms):
            return kind, touch_ms
    return None


def _last_touch(candidates: Iterable[tuple[_Touch, bool]], at_ms: int) -> tuple[int, int, str, _Touch, bool] | None:
    """The winning (kind, time, ad id, touch, cross_trip): any click beats any view, then the latest,
    then the greatest ad id (deterministic)."""
    best: tuple[int, int, str, _Touch, bool] | None = None
    for touch, cross_trip in candidates:
        found = _qualifies(touch, at_ms, not cross_trip)
        if found is None:
            continue
        candidate = (found[0], found[1], touch.ad.ad_id, touch, cross_trip)
        if best is None or candidate[:3] > best[:3]:
            best = candidate
    return best


class SalesAttributor:
    """Remembers trips' touches and baskets (and loyalty-linked touches) and credits checkouts."""

    def __init__(self, policy: SalesPolicy) -> None:
        self._policy = policy
        self._trips: OrderedDict[tuple[str, str], _Trip] = OrderedDict()
        self._shoppers: OrderedDict[str, _Shopper] = OrderedDict()

    def __len__(self) -> int:
        return len(self._trips)

    def _trip(self, cart_id: str, session_id: str) -> _Trip:
        key = (cart_id, session_id)
        trip = self._trips.get(key)
        if trip is None:
            trip = self._trips[key] = _Trip()
            while len(self._trips) > self._policy.max_trips:
                self._trips.popitem(last=False)
        self._trips.move_to_end(key)
        return trip

    def touch(self, cart_id: str, session_id: str, ad: AdReach, *, click: bool, at_ms: int) -> None:
        """A valid viewable impression (``click`` False) or click of ``ad`` in the trip at ``at_ms``."""
        if not ad.promoted_product_ids:
            return
        trip = self._trip(cart_id, session_id)
        if trip.checked_out:
            return
        held = trip.touches.setdefault(ad.ad_id, _Touch(ad))
        if click:
            held.click_ms = max(held.click_ms or at_ms, at_ms)
        else:
            held.view_ms = max(held.view_ms or at_ms, at_ms)

    def basket_change(self, cart_id: str, session_id: str, product_id: str, delta: int) -> None:
        """A valid basket add (``delta`` > 0) or removal (< 0); the basket never goes below zero."""
        trip = self._trip(cart_id, session_id)
        if trip.checked_out or not product_id:
            return
        held = max(0, trip.basket.get(product_id, 0) + delta)
        if held:
            trip.basket[product_id] = held
        else:
            trip.basket.pop(product_id, None)

    def _shopper(self, loyalty_id: str, cart_id: str, at_ms: int) -> _Shopper | None:
        """The loyalty id's memory when it may link trips now, else None (no id, or a shared one)."""
        if not loyalty_id:
            return None
        shopper = self._shoppers.get(loyalty_id)
        if shopper is None:
            shopper = self._shoppers[loyalty_id] = _Shopper()
            while len(self._shoppers) > self._policy.max_loyalty_ids:
                self._shoppers.popitem(last=False)
        self._shoppers.move_to_end(loyalty_id)
        horizon = at_ms - self._policy.loyalty_share_window_ms
        shopper.carts = {c: t for c, t in shopper.carts.items() if t >= horizon}
        shopper.carts[cart_id] = at_ms
        if len(shopper.carts) > self._policy.loyalty_max_carts:
            return None
        oldest = at_ms - self._policy.max_window_ms
        shopper.touches = [t for t in shopper.touches if t.last_ms() >= oldest]
        return shopper

    def checkout(
        self,
        cart_id: str,
        session_id: str,
        purchased: Iterable[tuple[str, int]],
        *,
        loyalty_id: str,
        at_ms: int,
        products: Mapping[str, ProductFacts],
    ) -> list[Sale]:
        """The sales of one checkout: ``purchased`` (product, quantity) lines as the cart claims them,
        ``products`` the index's facts of those products. A trip checks out once."""
        trip = self._trip(cart_id, session_id)
        if trip.checked_out:
            return []
        trip.checked_out = True
        shopper = self._shopper(loyalty_id, cart_id, at_ms)
        candidates = [(t, False) for t in trip.touches.values()]
        if shopper is not None:
            candidates += [(t, True) for t in shopper.touches]
        claimed: dict[str, int] = {}
        for product_id, quantity in purchased:
            if quantity > 0:
                claimed[product_id] = claimed.get(product_id, 0) + quantity
        promoted = frozenset().union(*(t.ad.promoted_product_ids for t, _ in candidates))
        sales = []
        for product_id in sorted(claimed):
            quantity = min(claimed[product_id], trip.basket.get(product_id, 0), self._policy.max_quantity)
            if quantity <= 0:
                continue  # never added in this trip, or removed before checkout
            facts = products.get(product_id, ProductFacts())
            halo = False
            best = _last_touch((c for c in candidates if product_id in c[0].ad.promoted_product_ids), at_ms)
            if best is None and facts.brand and product_id not in promoted:
                halo = True
                best = _last_touch((c for c in candidates if facts.brand in c[0].ad.promoted_brands), at_ms)
            if best is None:
                continue
            kind, _, ad_id, touch, cross_trip = best
            sales.append(
                Sale(
                    event_id=sale_event_id(cart_id, session_id, product_id),
                    product_id=product_id,
                    quantity=quantity,
                    unit_price_micros=facts.unit_price_micros,
                    attribution=kind,
                    halo=halo,
                    ad_id=ad_id,
                    tracking_token=touch.ad.tracking_token,
                    cross_trip=cross_trip,
                )
            )
        if shopper is not None:
            shopper.touches.extend(trip.touches.values())
            del shopper.touches[: -self._policy.max_touches_per_loyalty_id]
        trip.touches.clear()
        trip.basket.clear()
        return sales
