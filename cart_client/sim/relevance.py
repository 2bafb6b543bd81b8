"""How relevant an ad is to a basket, and whether a simulated shopper taps it.

The simulator writes a trace before any ad exists, so a touch in a simulated trace carries only
the shopper's ``propensity`` to tap. Whoever replays the trace decides the tap against the ad that
is actually on screen: the more the ad fits the basket, the likelier the tap. ``SimulatedShopper``
is that decision as the cart's session asks for it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from cart_client.sensors.trace import Touch
from cart_client.trip.catalog import CartCatalog
from cart_client.trip.core import CartTrip, ScreenAd

# An ad that promotes nothing the catalog knows (a banner, a brand message) is mildly relevant.
_UNKNOWN_PRODUCT_RELEVANCE = 0.2


def relevance(ad: ScreenAd, basket_product_ids: Iterable[str], catalog: CartCatalog) -> float:
    """1.0 for an ad from an aisle the basket already visits, 0.5 for its department, 0.1 otherwise."""
    promoted = catalog.get(ad.promoted_product_id) if ad.promoted_product_id else None
    if promoted is None:
        return _UNKNOWN_PRODUCT_RELEVANCE
    items = [item for pid in basket_product_ids if (item := catalog.get(pid)) is not None]
    if any(item.aisle_id == promoted.aisle_id for item in items):
        return 1.0
    if any(item.department == promoted.department for item in items):
        return 0.5
    return 0.1


def tap_probability(propensity: float, ad_relevance: float) -> float:
    """The chance a shopper with ``propensity`` taps an ad of ``ad_relevance`` (grows with relevance)."""
    return min(1.0, max(0.0, propensity * (0.25 + 1.5 * ad_relevance)))


def decides_to_tap(propensity: float, ad_relevance: float, seed: str) -> bool:
    """The simulated shopper's decision, the same for the same trip, touch and ad."""
    return random.Random(seed).random() < tap_probability(propensity, ad_relevance)


class SimulatedShopper:
    """One simulated trip's shopper: takes or lets pass the chances to tap its trace's touches carry.

    Counts them, and numbers them into each decision's seed, so it serves one trip only.
    """

    def __init__(self) -> None:
        self.tap_chances = 0
        self.tap_chances_taken = 0

    def is_tap(self, touch: Touch, trip: CartTrip) -> bool:
        """A touch without a propensity is a plain tap; one with a propensity is decided against the
        ad in its slot (no ad, or house content, is nothing to tap)."""
        if touch.propensity is None:
            return True
        ad = trip.screen.get(touch.slot_id)
        if ad is None or ad.house:
            return False
        self.tap_chances += 1
        # The line item, not the per-decision ad id, so the same replay decides the same way.
        seed = f"{trip.session_id}:{self.tap_chances}:{ad.line_item_id or ad.ad_id}"
        if decides_to_tap(touch.propensity, relevance(ad, trip.basket, trip.catalog), seed):
            self.tap_chances_taken += 1
            return True
        return False


__all__ = ["SimulatedShopper", "decides_to_tap", "relevance", "tap_probability"]
