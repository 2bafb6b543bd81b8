"""The store's own content, built into the cart: what the ad slots show when the edge is away.

House content is never billed and reports no events; it keeps the screen useful (and the layout
stable) during an outage instead of leaving holes where ads were.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cart_client.trip.core import AdFormat, ScreenAd, SlotSpec

_HOUSE_BY_FORMAT: dict[AdFormat, ScreenAd] = {
    AdFormat.SPONSORED_PRODUCT: ScreenAd(
        ad_id="house-scan-and-go",
        slot_id="",
        tracking_token="",
        format=AdFormat.SPONSORED_PRODUCT,
        headline="Scan as you shop",
        body="Scan each item, place it in the cart, and skip the checkout line.",
        call_to_action="How it works",
        location_hint="help desk by the entrance",
        house=True,
    ),
    AdFormat.BANNER: ScreenAd(
        ad_id="house-weekly-deals",
        slot_id="",
        tracking_token="",
        format=AdFormat.BANNER,
        headline="This week's deals",
        body="Look for the yellow shelf tags throughout the store.",
        house=True,
    ),
    AdFormat.COUPON: ScreenAd(
        ad_id="house-bags",
        slot_id="",
        tracking_token="",
        format=AdFormat.COUPON,
        headline="Bring your own bag",
        body="Reusable bags are on sale at every checkout.",
        offer_text="5¢ back per bag",
        coupon_code="OWNBAG",
        house=True,
    ),
    AdFormat.RECIPE: ScreenAd(
        ad_id="house-recipe",
        slot_id="",
        tracking_token="",
        format=AdFormat.RECIPE,
        headline="Tonight: a 20-minute pasta",
        body="Pasta · canned tomatoes · garlic · basil · parmesan",
        call_to_action="See recipe",
        house=True,
    ),
}


def house_ads(slots: Sequence[SlotSpec]) -> tuple[ScreenAd, ...]:
    """One house creative per slot, in the slot's format (a banner for unknown formats)."""
    return tuple(_house_ad(slot) for slot in slots)


def _house_ad(slot: SlotSpec) -> ScreenAd:
    template = _HOUSE_BY_FORMAT.get(slot.format, _HOUSE_BY_FORMAT[AdFormat.BANNER])
    return dataclasses.replace(template, ad_id=f"{template.ad_id}-{slot.slot_id}", slot_id=slot.slot_id)


__all__ = ["house_ads"]
