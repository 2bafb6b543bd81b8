"""The text touchscreen: one line per ad, built only from the ad's own fields."""

from __future__ import annotations

from cart_client.trip.core import ScreenAd


def format_price(price_micros: int) -> str:
    """A shelf price for the screen, e.g. 2_490_000 -> "$2.49"."""
    cents = round(price_micros / 10_000)
    return f"${cents // 100}.{cents % 100:02d}"


def ad_line(ad: ScreenAd) -> str:
    """E.g. ``[slot-0] Fresh Bananas — Sweet and ripe (Add to cart)  $0.59  aisle 24 — fresh fruits``."""
    text = " — ".join(part for part in (ad.headline, ad.body) if part) or ad.ad_id
    if ad.call_to_action:
        text += f" ({ad.call_to_action})"
    extras = []
    if ad.offer_text:
        extras.append(ad.offer_text)
    if ad.coupon_code:
        extras.append(f"code {ad.coupon_code}")
    if ad.price_micros > 0:
        extras.append(format_price(ad.price_micros))
    if ad.location_hint:
        extras.append(ad.location_hint)
    # House content bills nobody: the line says it is the store's own.
    prefix = f"[{ad.slot_id}] from the store: " if ad.house else f"[{ad.slot_id}] "
    return "  ".join([prefix + text, *extras])
