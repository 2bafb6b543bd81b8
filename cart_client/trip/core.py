"""The pure core of one cart trip: sensor readings, ad responses and screen feedback in, actions out.

No I/O, no clock and no id generator of its own (ids come from ``new_id``, times from the caller's
``now_ms``, a trip clock in milliseconds), so every decision about the basket, when to ask for ads
and what to report can be tested with plain values. The shells (``runner``, ``session``) perform
the actions and stamp reported events with the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cart_client.sensors.trace import Checkout, ScaleReading, Scan, SensorEvent, Touch, Vision, Weight, Zone
from cart_client.trip.catalog import CartCatalog
from cart_client.trip.fusion import BasketFusion, FusionConfig, FusionResult, Mismatch
from cart_client.trip.loyalty import pseudonymous_id
from cart_client.trip.policy import RequestPolicy, RequestPolicyConfig, Trigger
from cart_client.trip.scale import StableScale, StableScaleConfig
from cart_client.trip.scanning import RefusedScan, ResolvedScan, resolve_scan
from cart_client.trip.values import (
    DEFAULT_SLOTS,
    AdFormat,
    AdRequest,
    EventKind,
    RecipeLine,
    ScreenAd,
    SlotSpec,
    Step,
    TripCounters,
    TripEvent,
)
from cartads import bounds

# The industry's viewability rule (and common.proto's): at least half the ad for one continuous second.
MIN_VIEWABLE_MS = 1000
# The text renderer draws every ad in full for as long as it stays on screen, and reports the
# impression once it has drawn it: credit the minimum viewable time rather than a guess.
TEXT_VIEWABLE_DURATION_MS = MIN_VIEWABLE_MS


class CartTrip:
    """One shopper's trip on one cart: basket, zone, what the screen shows, and what to do next."""

    def __init__(
        self,
        *,
        store_id: str,
        cart_id: str,
        session_id: str,
        new_id: Callable[[], str],
        slots: tuple[SlotSpec, ...] = DEFAULT_SLOTS,
        catalog: CartCatalog | None = None,
        fusion: FusionConfig | None = None,
        policy: RequestPolicyConfig | None = None,
        impressions_on_render: bool = True,
        scale: StableScaleConfig | None = None,
        loyalty_key: bytes = b"",
    ) -> None:
        self.store_id = store_id
        self.cart_id = cart_id
        self.session_id = session_id
        self.new_id = new_id
        self.slots = slots
        self._slot_ids = frozenset(slot.slot_id for slot in slots)
        self.catalog = catalog or CartCatalog()
        # A text screen shows what it draws; a real screen measures viewability and says so (``viewed``).
        self.impressions_on_render = impressions_on_render
        # The retailer's loyalty key: a scanned loyalty number leaves the cart only as its HMAC.
        self._loyalty_key = loyalty_key
        self.fusion = BasketFusion(self.catalog, fusion)
        self.policy = RequestPolicy(policy)
        self.scale = StableScale(scale)
        # The symbols refused as untrustworthy, with the reason, newest last (the shell logs them).
        self.refused_scans: list[RefusedScan] = []
        self.zone_id = ""
        self.screen: dict[str, ScreenAd] = {}
        self.counters = TripCounters()
        self.started = False
        self.checked_out = False
        self._shown: dict[str, ScreenAd] = {}
        self._impressed: set[str] = set()
        self._played: set[str] = set()
        self._clicked: set[str] = set()

    @property
    def basket(self) -> dict[str, int]:
        """Confirmed products and their quantities."""
        return dict(self.fusion.basket())

    def mismatches(self) -> tuple[Mismatch, ...]:
        """What the sensors disagree about now."""
        return self.fusion.mismatches()

    def next_deadline_ms(self) -> int | None:
        """When ``advance`` next has work (a dwell, idle time, an overdue scan), or None."""
        if self.checked_out:
            return None
        times = [t for t in (self.fusion.next_deadline_ms(), self.policy.next_deadline_ms()) if t is not None]
        return min(times) if times else None

    def advance(self, now_ms: int) -> Step:
        """Let the trip clock reach ``now_ms``: timed triggers fire, overdue scans are flagged."""
        if self.checked_out or not self.started:
            return Step()
        requests: list[AdRequest] = []
        self._apply(self.fusion.expire(now_ms), now_ms, [], requests)
        for trigger in self.policy.due(now_ms):
            requests.append(self._request(trigger))
        return Step(ad_requests=tuple(requests))

    def feed(self, event: SensorEvent, now_ms: int) -> Step:
        """Apply one sensor reading at trip time ``now_ms``."""
        if self.checked_out:
            # A trip ends at checkout; a stray sensor reading afterwards must not open a new one.
            self.counters.events_after_checkout += 1
            return Step()
        if isinstance(event, ScaleReading):
            # A raw reading is neither activity nor a tick of the trip clock (a load cell streams all the
            # time): only the stable change it may complete is a reading of the trip.
            self.counters.scale_readings += 1
            delta_g = self.scale.reading(event.gross_g, now_ms, motion=event.motion)
            if delta_g is None:
                return Step()
            event = Weight(delta_g, now_ms)
        self.counters.sensor_events += 1
        requests: list[AdRequest] = []
        events: list[TripEvent] = []
        if not self.started:
            self.started = True
            self._ask(Trigger.SESSION_START, now_ms, requests)
        else:
            requests.extend(self.advance(now_ms).ad_requests)
        match event:
            case Scan(product_id=product_id, code=code):
                self.counters.scans += 1
                self._scan(product_id, code, now_ms, events, requests)
            case Weight(delta_g=delta_g):
                self.counters.weight_changes += 1
                self._apply(self.fusion.weight(delta_g, now_ms), now_ms, events, requests)
            case Vision(product_id=product_id, confidence=confidence):
                self.counters.sightings += 1
                self._apply(self.fusion.vision(product_id, confidence, now_ms), now_ms, events, requests)
            case Zone(zone_id=zone_id):
                if zone_id != self.zone_id:
                    self.counters.zone_changes += 1
                    self.zone_id = zone_id
                    self.policy.zone_entered(zone_id, now_ms)
            case Touch(slot_id=slot_id, button=button):
                if button:
                    self.counters.buttons += 1
                    if button == "tare":
                        # The shopper's own bag: the scale's next stable level is the new zero.
                        self.scale.tare()
                else:
                    self.counters.touches += 1
                    click = self.tap_slot(slot_id, now_ms)
                    if click is not None:
                        events.append(click)
            case Checkout(loyalty_number=loyalty_number):
                self.checked_out = True
                events.append(self._checkout(loyalty_number, now_ms))
                self._ask(Trigger.CHECKOUT, now_ms, requests)
        self.policy.activity(now_ms)
        return Step(ad_requests=tuple(requests), events=tuple(events))

    def receive_ads(self, ads: Sequence[ScreenAd], now_ms: int) -> Step:
        """Put ads on screen; with ``impressions_on_render`` (a text screen, which draws at once what it
        gets) each ad drawn yields its play and its impression; a real screen reports both (``played``,
        ``viewed``) when its page has drawn the ad and measured it viewable."""
        self.counters.ads_received += sum(1 for ad in ads if not ad.house)
        known_slots = {slot.slot_id for slot in self.slots}
        rendered: list[ScreenAd] = []
        events: list[TripEvent] = []
        for ad in ads:
            if ad.slot_id not in known_slots:
                # Nothing can show an ad for a slot this cart does not have, so it is not viewable.
                self.counters.ads_off_screen += 1
                continue
            self.screen[ad.slot_id] = ad
            self._shown[ad.ad_id] = ad
            rendered.append(ad)
            if self.impressions_on_render:
                play = self.played(ad.ad_id, now_ms)
                if play is not None:
                    events.append(play)
                impression = self.viewed(ad.ad_id, TEXT_VIEWABLE_DURATION_MS, now_ms)
                if impression is not None:
                    events.append(impression)
        return Step(events=tuple(events), rendered=tuple(rendered))

    def fill_empty_slots(self, house_ads: Sequence[ScreenAd]) -> tuple[ScreenAd, ...]:
        """Put house content where no ad is (edge away, or no fill); newer house content replaces older."""
        placed = []
        for ad in house_ads:
            held = self.screen.get(ad.slot_id)
            if (held is None or (held.house and held.ad_id != ad.ad_id)) and ad.slot_id in self._slot_ids:
                self.screen[ad.slot_id] = self._shown[ad.ad_id] = ad
                placed.append(ad)
        return tuple(placed)

    def played(self, ad_id: str, now_ms: int) -> TripEvent | None:
        """The screen put ``ad_id`` on screen: its one play (per decision), if it is a paid ad shown here."""
        ad = self._shown.get(ad_id)
        if ad is None or ad.house or ad_id in self._played:
            return None
        self._played.add(ad_id)
        self.counters.plays += 1
        return self._event(EventKind.PLAY, now_ms, tracking_token=ad.tracking_token, ad_id=ad_id)

    def viewed(self, ad_id: str, visible_ms: int, now_ms: int) -> TripEvent | None:
        """The screen measured ``ad_id`` viewable for ``visible_ms``: its one impression, if it earned one."""
        ad = self._shown.get(ad_id)
        if ad is None or ad.house or visible_ms < MIN_VIEWABLE_MS or ad_id in self._impressed:
            self.counters.views_rejected += 1
            return None
        self._impressed.add(ad_id)
        self.counters.impressions += 1
        return self._event(
            EventKind.IMPRESSION, now_ms, tracking_token=ad.tracking_token, ad_id=ad_id, visible_duration_ms=visible_ms
        )

    def tap_slot(self, slot_id: str, now_ms: int) -> TripEvent | None:
        """The shopper tapped whatever is in ``slot_id``."""
        ad = self.screen.get(slot_id)
        if ad is None:
            self.counters.touches_without_ad += 1
            return None
        return self.tap_ad(ad.ad_id, now_ms)

    def tap_ad(self, ad_id: str, now_ms: int) -> TripEvent | None:
        """The shopper tapped ``ad_id``: its click, once per decision."""
        ad = self._shown.get(ad_id)
        if ad is None:
            self.counters.touches_without_ad += 1
            return None
        if ad.house:
            self.counters.house_taps += 1
            return None
        if ad_id in self._clicked:
            # One decision is billable for one click; a second tap opens the same detail page.
            return None
        self._clicked.add(ad_id)
        self.counters.clicks += 1
        return self._event(EventKind.CLICK, now_ms, tracking_token=ad.tracking_token, ad_id=ad_id)

    def _scan(
        self, product_id: str, code: str, now_ms: int, events: list[TripEvent], requests: list[AdRequest]
    ) -> None:
        resolved = ResolvedScan(product_id) if product_id else resolve_scan(self.catalog, code)
        if isinstance(resolved, ResolvedScan):
            result = self.fusion.scan(resolved.product_id, now_ms, resolved.label_weight_g)
            self._apply(result, now_ms, events, requests)
        elif isinstance(resolved, RefusedScan):
            self.counters.refused_codes += 1
            self.refused_scans = [*self.refused_scans[-19:], resolved]
        else:
            # The scale will flag the item if it goes in the basket anyway.
            self.counters.unknown_codes += 1

    def _apply(self, result: FusionResult, now_ms: int, events: list[TripEvent], requests: list[AdRequest]) -> None:
        self.counters.mismatches += len(result.opened)
        for change in result.changes:
            if change.quantity > 0:
                self.counters.basket_adds += 1
                events.append(self._event(EventKind.BASKET_ADD, now_ms, product_id=change.product_id, quantity=1))
                self._ask(Trigger.SCAN, now_ms, requests, scanned_product_id=change.product_id)
            else:
                self.counters.basket_removes += 1
                events.append(self._event(EventKind.BASKET_REMOVE, now_ms, product_id=change.product_id, quantity=1))

    def _ask(self, trigger: Trigger, now_ms: int, requests: list[AdRequest], scanned_product_id: str = "") -> None:
        if self.policy.allow(trigger, now_ms):
            requests.append(self._request(trigger, scanned_product_id=scanned_product_id))
        else:
            self.counters.ad_requests_suppressed += 1

    def _request(self, trigger: Trigger, *, scanned_product_id: str = "") -> AdRequest:
        self.counters.ad_requests += 1
        return AdRequest(
            request_id=self.new_id(),
            trigger=trigger,
            zone_id=self.zone_id,
            basket=self.fusion.basket(),
            slots=self.slots,
            scanned_product_id=scanned_product_id,
        )

    def _checkout(self, loyalty_number: str, now_ms: int) -> TripEvent:
        """The checkout event: the confirmed basket as bought, and the shopper's pseudonymous id."""
        return TripEvent(
            event_id=self.new_id(),
            kind=EventKind.CHECKOUT,
            occur_unix_ms=now_ms,
            # Within what one checkout may carry (the edge refuses the whole call otherwise); the edge
            # counts no more than the trip's adds anyway.
            purchased=tuple(
                (pid, min(qty, bounds.MAX_QUANTITY)) for pid, qty in sorted(self.fusion.basket()) if qty > 0
            )[: bounds.MAX_BASKET_LINES],
            loyalty_id=pseudonymous_id(loyalty_number, self._loyalty_key),
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
    "MIN_VIEWABLE_MS",
    "TEXT_VIEWABLE_DURATION_MS",
    "AdFormat",
    "AdRequest",
    "CartTrip",
    "EventKind",
    "RecipeLine",
    "ScreenAd",
    "SlotSpec",
    "Step",
    "Trigger",
    "TripCounters",
    "TripEvent",
]
