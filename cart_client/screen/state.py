"""What the touchscreen shows, as one JSON-able object built from the trip (pure).

The page renders only this: basket lines with names and prices, the running total, the open
mismatches in words a shopper understands, and each slot's creative. Prices are the catalog's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cart_client.screen.text import format_price
from cart_client.trip.catalog import CartCatalog
from cart_client.trip.core import CartTrip, ScreenAd
from cart_client.trip.fusion import Mismatch, MismatchKind


def mismatch_text(mismatch: Mismatch, catalog: CartCatalog) -> str:
    """The warning a shopper reads for one mismatch."""
    grams = abs(round(mismatch.delta_g))
    match mismatch.kind:
        case MismatchKind.UNCONFIRMED_SCAN:
            return f"{catalog.name(mismatch.product_id)} was scanned but not placed in the cart."
        case MismatchKind.UNEXPLAINED_ADD:
            return f"An item of about {grams} g was placed in the cart without a scan. Please scan it."
        case MismatchKind.UNEXPLAINED_REMOVAL:
            return f"About {grams} g was taken out of the cart that does not match a scanned item."


def asset_path(ad: ScreenAd) -> str:
    """The page's path for the ad's edge-served image, "" when it has none."""
    return f"/assets/{ad.image_asset_sha256}" if ad.image_asset_sha256 and ad.image_url else ""


def ad_json(ad: ScreenAd) -> dict[str, Any]:
    """One creative's fields for the page."""
    return {
        "ad_id": ad.ad_id,
        "slot_id": ad.slot_id,
        "format": str(ad.format),
        "headline": ad.headline,
        "body": ad.body,
        "call_to_action": ad.call_to_action,
        "location_hint": ad.location_hint,
        "price_text": format_price(ad.price_micros) if ad.price_micros > 0 else "",
        "offer_text": ad.offer_text,
        "coupon_code": ad.coupon_code,
        # Only the cart's own origin: an edge asset goes through the cart's /assets/ route (which
        # fetches it from the edge by hash), and the page's policy blocks anything else.
        "image_url": asset_path(ad) or (ad.image_url if ad.image_url.startswith("/") else ""),
        "recipe_items": [
            {
                "name": line.name,
                "location_hint": line.location_hint,
                "price_text": format_price(line.price_micros) if line.price_micros > 0 else "",
            }
            for line in ad.recipe_items
        ],
        "house": ad.house,
    }


def screen_state(
    trip: CartTrip, *, edge_reachable: bool = True, store_name: str = "", zone_names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Everything the page draws, in one message; ``zone_names`` (the edge's, by zone id) name the
    zone before the catalog does, and without a ``store_name`` the page keeps its own title."""
    catalog = trip.catalog
    lines = []
    total_micros = 0
    for product_id, quantity in trip.fusion.basket():
        item = catalog.get(product_id)
        unit = item.price_micros if item else 0
        total_micros += unit * quantity
        lines.append(
            {
                "product_id": product_id,
                "name": catalog.name(product_id),
                "quantity": quantity,
                "unit_price_text": format_price(unit) if unit else "",
                "line_total_text": format_price(unit * quantity) if unit else "",
                "aisle": item.aisle_name if item else "",
            }
        )
    return {
        "type": "state",
        "store_name": store_name,
        "cart_id": trip.cart_id,
        "zone_id": trip.zone_id,
        # The aisle as the shopper knows it, from the catalog ("Refrigerated (aisle 31)").
        "zone_name": ((zone_names or {}).get(trip.zone_id) or catalog.zone_name(trip.zone_id)) if trip.zone_id else "",
        "edge_reachable": edge_reachable,
        "checked_out": trip.checked_out,
        "basket": lines,
        "item_count": sum(quantity for _, quantity in trip.fusion.basket()),
        "total_text": format_price(total_micros),
        "mismatches": [
            {"id": m.mismatch_id, "kind": str(m.kind), "text": mismatch_text(m, catalog)} for m in trip.mismatches()
        ],
        "slots": [
            {
                "slot_id": slot.slot_id,
                "format": str(slot.format),
                "ad": ad_json(ad) if (ad := trip.screen.get(slot.slot_id)) else None,
            }
            for slot in trip.slots
        ],
    }


__all__ = ["ad_json", "asset_path", "mismatch_text", "screen_state"]
