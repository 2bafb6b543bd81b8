"""The pure core of one cart trip: sensor events and ad responses in, actions out.

No I/O, no clock and no id generator of its own (ids come from ``new_id``, times from the
caller's ``now_ms``), so every decision about when to ask for ads and what to report can be
tested with plain values. The runner is the shell that performs the actions.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cart_client.trace import Checkout, Scan, SensorEvent, Touch, Weight, Zone

# The text renderer draws every ad in full for as long as it stays on screen, and the runner
# reports the impression once it has drawn it: credit the minimum viewable time (one continuous
# second, common.proto's definition) rather than a guess at how long the shopper looked.
TEXT_VIEWABLE_DURATION_MS = 1000


class Trigger(enum.StrEnum):
    """What made the cart ask for ads."""

    SESSION_START = "session_start"
    SCAN = "scan"
    ZONE_ENTER = "zone_enter"
    CHECKOUT = "checkout"


class AdFormat(enum.StrEnum):
    """How a creative is laid out on a slot."""

    UNSPECIFIED = "unspecified"
    SPONSORED_PRODUCT = "sponsored_product"
    BANNER = "banner"
    COUPON = "coupon"
    RECIPE = "recipe"


class EventKind(enum.StrEnum):
    """The kinds of event a cart reports."""

    IMPRESSION = "impression"
    CLICK = "click"
    BASKET_ADD = "basket_add"
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
class ScreenAd:
    """One ad the edge chose, as the screen shows it."""

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
    weight_changes: int = 0
    zone_changes: int = 0
    touches: int = 0
    touches_without_ad: int = 0
    ad_requests: int = 0
    ads_received: int = 0
    ads_off_screen: int = 0
    impressions: int = 0
    clicks: int = 0
    events_after_checkout: int = 0


@dataclass
class CartTrip:
    """One shopper's trip on one cart: basket, zone, what the screen shows, and what to do next."""

    store_id: str
    cart_id: str
    session_id: str
    new_id: Callable[[], str]
    slots: tuple[SlotSpec, ...] = DEFAULT_SLOTS
    basket: dict[str, int] = field(default_factory=dict)
    zone_id: str = ""
    screen: dict[str, ScreenAd] = field(default_factory=dict)
    clicked_ad_ids: set[str] = field(default_factory=set)
    counters: TripCounters = field(default_factory=TripCounters)
    started: bool = False
    checked_out: bool = False

    def feed(self, event: SensorEvent, now_ms: int) -> Step:
        """Apply one sensor event; ``now_ms`` is the cart's wall clock in Unix milliseconds."""
        if self.checked_out:
            # A trip ends at checkout; a stray sensor reading afterwards must not open a new one.
            self.counters.events_after_checkout += 1
            return Step()
        self.counters.sensor_events += 1
        requests: list[AdRequest] = []
        events: list[TripEvent] = []
        if not self.started:
            self.started = True
            requests.append(self._request(Trigger.SESSION_START))
        match event:
            case Scan(product_id=product_id):
                self.counters.scans += 1
                self.basket[product_id] = self.basket.get(product_id, 0) + 1
                events.append(self._event(EventKind.BASKET_ADD, now_ms, product_id=product_id, quantity=1))
                requests.append(self._request(Trigger.SCAN, scanned_product_id=product_id))
            case Weight():
                # Fusing the scale with the scanner (unscanned items, removals) is later work.
                self.counters.weight_changes += 1
            case Zone(zone_id=zone_id):
                if zone_id != self.zone_id:
                    self.counters.zone_changes += 1
                    self.zone_id = zone_id
                    requests.append(self._request(Trigger.ZONE_ENTER))
            case Touch(slot_id=slot_id):
                self.counters.touches += 1
                click = self._click(slot_id, now_ms)
                if click is not None:
                    events.append(click)
            case Checkout():
                self.checked_out = True
                events.append(self._event(EventKind.CHECKOUT, now_ms))
                requests.append(self._request(Trigger.CHECKOUT))
        return Step(ad_requests=tuple(requests), events=tuple(events))

    def receive_ads(self, ads: Sequence[ScreenAd], now_ms: int) -> Step:
        """Put the edge's ads on screen; each ad drawn yields its impression."""
        self.counters.ads_received += len(ads)
        known_slots = {slot.slot_id for slot in self.slots}
        rendered: list[ScreenAd] = []
        events: list[TripEvent] = []
        for ad in ads:
            if ad.slot_id not in known_slots:
                # Nothing can show an ad for a slot this cart does not have, so it is not viewable.
                self.counters.ads_off_screen += 1
                continue
            self.screen[ad.slot_id] = ad
            rendered.append(ad)
            self.counters.impressions += 1
            events.append(
                self._event(
                    EventKind.IMPRESSION,
                    now_ms,
                    tracking_token=ad.tracking_token,
                    ad_id=ad.ad_id,
                    visible_duration_ms=TEXT_VIEWABLE_DURATION_MS,
                )
            )
        return Step(events=tuple(events), rendered=tuple(rendered))

    def _click(self, slot_id: str, now_ms: int) -> TripEvent | None:
        ad = self.screen.get(slot_id)
        if ad is None:
            self.counters.touches_without_ad += 1
            return None
        if ad.ad_id in self.clicked_ad_ids:
            # One decision is billable for one click; a second tap opens the same detail page.
            return None
        self.clicked_ad_ids.add(ad.ad_id)
        self.counters.clicks += 1
        return self._event(EventKind.CLICK, now_ms, tracking_token=ad.tracking_token, ad_id=ad.ad_id)

    def _request(self, trigger: Trigger, *, scanned_product_id: str = "") -> AdRequest:
        self.counters.ad_requests += 1
        return AdRequest(
            request_id=self.new_id(),
            trigger=trigger,
            zone_id=self.zone_id,
            basket=tuple(self.basket.items()),
            slots=self.slots,
            scanned_product_id=scanned_product_id,
        )

    def _event(
        self,
        kind: EventKind,
        now_ms: int,
        *,
        tracking_token: str = "",
        ad_id: str = "",
        product_id: str = "",
        quantity: int = 0,
        visible_duration_ms: int = 0,
    ) -> TripEvent:
        return TripEvent(
            event_id=self.new_id(),
            kind=kind,
            occur_unix_ms=now_ms,
            tracking_token=tracking_token,
            ad_id=ad_id,
            product_id=product_id,
            quantity=quantity,
            visible_duration_ms=visible_duration_ms,
        )


__all__ = [
    "DEFAULT_SLOTS",
    "TEXT_VIEWABLE_DURATION_MS",
    "AdFormat",
    "AdRequest",
    "CartTrip",
    "EventKind",
    "ScreenAd",
    "SlotSpec",
    "Step",
    "TripCounters",
    "TripEvent",
]
