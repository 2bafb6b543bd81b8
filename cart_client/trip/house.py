"""The store's own content, built into the cart: what an ad slot shows when no ad fills it, because
the edge is away or because it had no ad to give (no fill).

House content is never billed and reports no events; it keeps the screen useful (and the layout
stable) instead of leaving holes where ads were. The product slot suggests something from the
catalog: a product of the aisle the shopper stands in that is not in the basket yet, with its price
and where it is; the other slots carry store messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from cart_client.trip.catalog import CartCatalog, CatalogItem
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


def house_ads(
    slots: Sequence[SlotSpec],
    *,
    catalog: CartCatalog | None = None,
    zone_id: str = "",
    basket: Collection[str] = (),
) -> tuple[ScreenAd, ...]:
    """One house creative per slot, in the slot's format (a banner for unknown formats); the product
    slot suggests a product of ``zone_id`` not in ``basket`` when the catalog has one."""
    suggestion = suggest(catalog, zone_id, basket) if catalog is not None else None
    return tuple(_house_ad(slot, suggestion, catalog) for slot in slots)


def suggest(catalog: CartCatalog, zone_id: str, basket: Collection[str]) -> CatalogItem | None:
    """A product of the shopper's aisle that is not in the basket, None when there is none.

    Which one moves on as the basket grows, so the suggestion changes as the shopper shops.
    """
    candidates = [item for item in catalog.in_zone(zone_id) if item.product_id not in basket and item.name]
    return candidates[len(basket) % len(candidates)] if candidates else None


def _house_ad(slot: SlotSpec, suggestion: CatalogItem | None, catalog: CartCatalog | None) -> ScreenAd:
    if suggestion is not None and catalog is not None and slot.format == AdFormat.SPONSORED_PRODUCT:
        return ScreenAd(
            ad_id=f"house-suggest-{suggestion.product_id}-{slot.slot_id}",
            slot_id=slot.slot_id,
            tracking_token="",
            format=AdFormat.SPONSORED_PRODUCT,
            headline=suggestion.name,
            body="Right here in this aisle.",
            call_to_action="Find it on the shelf",
            location_hint=catalog.location(suggestion),
            promoted_product_id=suggestion.product_id,
            price_micros=suggestion.price_micros,
            house=True,
        )
    template = _HOUSE_BY_FORMAT.get(slot.format, _HOUSE_BY_FORMAT[AdFormat.BANNER])
    return dataclasses.replace(template, ad_id=f"{template.ad_id}-{slot.slot_id}", slot_id=slot.slot_id)


__all__ = ["house_ads", "suggest"]
