"""The text renderer's ad lines."""

from __future__ import annotations

from cart_client.screen.text import ad_line, format_price
from cart_client.trip.core import ScreenAd


def test_sponsored_product_line_has_every_part() -> None:
    """Slot, headline, body, call to action, price and location appear in reading order."""
    ad = ScreenAd(
        ad_id="a1",
        slot_id="slot-0",
        tracking_token="t",
        headline="Organic Bananas",
        body="Sweet and ripe",
        call_to_action="Add to cart",
        price_micros=590_000,
        location_hint="aisle 24 — fresh fruits",
    )
    assert ad_line(ad) == "[slot-0] Organic Bananas — Sweet and ripe (Add to cart)  $0.59  aisle 24 — fresh fruits"


def test_coupon_line_shows_offer_and_code() -> None:
    """A coupon shows its offer text and code."""
    ad = ScreenAd(
        ad_id="a1", slot_id="slot-1", tracking_token="t", headline="Save", offer_text="$1 off", coupon_code="MILK1"
    )
    assert ad_line(ad) == "[slot-1] Save  $1 off  code MILK1"


def test_ad_without_text_falls_back_to_its_id() -> None:
    """An ad with no headline or body still shows something identifiable."""
    assert ad_line(ScreenAd(ad_id="a9", slot_id="slot-0", tracking_token="t")) == "[slot-0] a9"


def test_price_rounds_to_cents() -> None:
    """Micros become dollars and cents."""
    assert format_price(12_345_678) == "$12.35"
