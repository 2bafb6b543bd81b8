"""The values the trip core takes and gives: ad requests, screen ads, events to report, counters.

Plain frozen dataclasses and enums; ``core`` re-exports them, so callers import from either.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cart_client.trip.policy import Trigger


class AdFormat(enum.StrEnum):
    """How a creative is laid out on a slot."""

    UNSPECIFIED = "unspecified"
    SPONSORED_PRODUCT = "sponsored_product"
    BANNER = "banner"
    COUPON = "coupon"
    RECIPE = "recipe"


class EventKind(enum.StrEnum):
    """The kinds of event a cart reports."""

    # The ad was put on screen (an ad play): the first rung of the impression ladder, never billed.
    PLAY = "play"
    IMPRESSION = "impression"
    CLICK = "click"
    BASKET_ADD = "basket_add"
    BASKET_REMOVE = "basket_remove"
    CHECKOUT = "checkout"


@dataclass(frozen=True, slots=True)
class SlotSpec:
    """A place on the cart's screen that holds one ad."""

    slot_id: str
    format: AdFormat


DEFAULT_SLOTS: tuple[SlotSpec, ...] = (
    SlotSpec("slot-0", AdFormat.SPONSORED_PRODUCT),
    SlotSpec("slot-1", AdFormat.BANNER),
)


@dataclass(frozen=True, slots=True)
class AdRequest:
    """What the cart asks the edge for, mirroring GetAdsRequest without the ids of the trip."""

    request_id: str
    trigger: Trigger
    zone_id: str
    basket: tuple[tuple[str, int], ...]
    slots: tuple[SlotSpec, ...]
    scanned_product_id: str = ""


@dataclass(frozen=True, slots=True)
class RecipeLine:
    """One product of a recipe card and where to find it in the store."""

    name: str
    location_hint: str = ""
    price_micros: int = 0


@dataclass(frozen=True, slots=True)
class ScreenAd:
    """One ad on the screen: the edge's choice, or house content (``house``) when the edge is away."""

    ad_id: str
    slot_id: str
    tracking_token: str
    campaign_id: str = ""
    line_item_id: str = ""
    format: AdFormat = AdFormat.UNSPECIFIED
    headline: str = ""
    body: str = ""
    call_to_action: str = ""
    location_hint: str = ""
    promoted_product_id: str = ""
    price_micros: int = 0
    offer_text: str = ""
    coupon_code: str = ""
    image_url: str = ""
    # The image's content hash: the screen shows it through the cart's own /assets/ route.
    image_asset_sha256: str = ""
    recipe_items: tuple[RecipeLine, ...] = ()
    # House content is the store's own; it is never billed, so it reports nothing.
    house: bool = False


@dataclass(frozen=True, slots=True)
class TripEvent:
    """One event to report, mirroring CartEvent without the trip's ids."""

    event_id: str
    kind: EventKind
    occur_unix_ms: int
    tracking_token: str = ""
    ad_id: str = ""
    product_id: str = ""
    quantity: int = 0
    visible_duration_ms: int = 0
    # Checkout: the basket paid for (product, quantity) and the shopper's pseudonymous loyalty id.
    purchased: tuple[tuple[str, int], ...] = ()
    loyalty_id: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """What the shell must do after one input: ask for ads, report events, draw ads."""

    ad_requests: tuple[AdRequest, ...] = ()
    events: tuple[TripEvent, ...] = ()
    rendered: tuple[ScreenAd, ...] = ()


@dataclass(slots=True)
class TripCounters:
    """What happened in the trip so far, as the cart saw it (not what the edge acknowledged)."""

    sensor_events: int = 0
    scans: int = 0
    unknown_codes: int = 0
    refused_codes: int = 0
    weight_changes: int = 0
    scale_readings: int = 0
    sightings: int = 0
    zone_changes: int = 0
    touches: int = 0
    touches_without_ad: int = 0
    house_taps: int = 0
    buttons: int = 0
    basket_adds: int = 0
    basket_removes: int = 0
    mismatches: int = 0
    ad_requests: int = 0
    ad_requests_suppressed: int = 0
    ads_received: int = 0
    ads_off_screen: int = 0
    plays: int = 0
    impressions: int = 0
    views_rejected: int = 0
    clicks: int = 0
    events_after_checkout: int = 0


__all__ = [
    "DEFAULT_SLOTS",
    "AdFormat",
    "AdRequest",
    "EventKind",
    "RecipeLine",
    "ScreenAd",
    "SlotSpec",
    "Step",
    "TripCounters",
    "TripEvent",
]
