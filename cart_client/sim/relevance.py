"""How relevant an ad is to a basket, and whether a simulated shopper taps it.

The simulator writes a trace before any ad exists, so a touch in a simulated trace carries only
the shopper's ``propensity`` to tap. Whoever replays the trace decides the tap against the ad that
is actually on screen: the more the ad fits the basket, the likelier the tap.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from cart_client.trip.catalog import CartCatalog
from cart_client.trip.core import ScreenAd

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


__all__ = ["decides_to_tap", "relevance", "tap_probability"]
