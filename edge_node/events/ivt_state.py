"""The edge's invalid traffic judge: ``cartads.ivt``'s rules over each trip's and cart's valid events. Pure.

Every reported event is judged as it is journaled, stateless rules first, then the stateful ones
against what this edge saw of the trip and the cart. History holds valid events only (an invalid
one never counts towards a later verdict) and lives in bounded memory: least recently used trips
are forgotten past ``max_trips``, and a cart keeps at most ``sessions_per_cart`` trips. A trip that
was forgotten, or began before this process did, is judged as incomplete (``TripHistory.complete``
False): rules that need an event's absence are then left to the cloud, which holds the whole trip.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

from cartads import ivt
from cartads.v1 import common_pb2
from cartads.v1.common_pb2 import CartEvent
from cartads.v1.tracking_pb2 import TrackingTokenPayload

_IMPRESSION = common_pb2.EVENT_TYPE_IMPRESSION
_CLICK = common_pb2.EVENT_TYPE_CLICK
_CONVERSION = common_pb2.EVENT_TYPE_CONVERSION
_BASKET_ADD = common_pb2.EVENT_TYPE_BASKET_ADD
# The kinds the stateful rules judge (the others skip building the trip's history).
_JUDGED_IN_TRIP = frozenset({_CLICK, _CONVERSION})
# Remembered per trip at most (ads, clicks per ad, invalid adds): bounds the memory of one abusive trip.
_MAX_IDS_PER_TRIP = 1_000
_MAX_JUDGED_PER_TRIP = 5_000
_FORGOTTEN_PER_TRIP = 4
# Valid impressions and clicks remembered per cart for the click-rate window (the newest kept).
_MAX_TOUCHES_PER_CART = 5_000


@dataclass
class _Trip(ivt.TripTally):
    # Event id -> verdict of the events judged in the trip.
    judged: dict[str, int] = field(default_factory=dict)


@dataclass
class _Cart:
    # (receive ms, is click) of the cart's valid impressions and clicks, oldest first, and how many
    # of them are clicks (kept as they come and go, so a window costs no scan).
    touches: deque[tuple[int, bool]] = field(default_factory=deque)
    clicks: int = 0
    sessions: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def touch(self, at_ms: int, is_click: bool) -> None:
        if len(self.touches) >= _MAX_TOUCHES_PER_CART:
            self._drop_oldest()
        self.touches.append((at_ms, is_click))
        self.clicks += is_click

    def _drop_oldest(self) -> None:
        _, was_click = self.touches.popleft()
        self.clicks -= was_click

    def window(self, now_ms: int, window_ms: int) -> ivt.CartWindow:
        while self.touches and self.touches[0][0] < now_ms - window_ms:
            self._drop_oldest()
        return ivt.CartWindow(len(self.touches) - self.clicks, self.clicks)


@dataclass(frozen=True)
class CallContext:
    """What the judge needs of one ReportEvents call, beyond its events."""

    store_id: str
    receive_ms: int
    # The edge's receive time minus the call's send_time; None when the cart sent none.
    clock_offset_ms: int | None
    token_ttl_ms: int
    policy: ivt.IvtPolicy


class IvtJudge:
    """Judges events in the order reported and remembers the valid ones."""

    def __init__(self, max_trips: int, sessions_per_cart: int, *, started_ms: int = 0) -> None:
        self._max_trips = max(1, max_trips)
        self.sessions_per_cart = max(1, sessions_per_cart)
        self._trips: OrderedDict[tuple[str, str], _Trip] = OrderedDict()
        self._carts: OrderedDict[str, _Cart] = OrderedDict()
        # Trips this process forgot (keys only, up to _FORGOTTEN_PER_TRIP times as many as the trips):
        # seen again, they are incomplete.
        self._forgotten: OrderedDict[tuple[str, str], None] = OrderedDict()
        # A token issued before this process started belongs to a trip whose start it did not see.
        self._started_ms = started_ms

    def __len__(self) -> int:
        return len(self._trips)

    def _trip(self, cart_id: str, session_id: str) -> _Trip:
        key = (cart_id, session_id)
        trip = self._trips.get(key)
        if trip is None:
            forgotten = key in self._forgotten
            self._forgotten.pop(key, None)
            trip = self._trips[key] = _Trip(complete=not forgotten)
            cart = self._cart(cart_id)
            cart.sessions[session_id] = None
            while len(cart.sessions) > self.sessions_per_cart:
                old, _ = cart.sessions.popitem(last=False)
                self._forget((cart_id, old))
            while len(self._trips) > self._max_trips:
                old_key = next(iter(self._trips))
                self._forget(old_key)
                sessions = self._carts.get(old_key[0])
                if sessions is not None:
                    sessions.sessions.pop(old_key[1], None)
                    if not sessions.sessions:
                        del self._carts[old_key[0]]
        self._trips.move_to_end(key)
        return trip

    def _forget(self, key: tuple[str, str]) -> None:
        self._trips.pop(key, None)
        self._forgotten[key] = None
        while len(self._forgotten) > self._max_trips * _FORGOTTEN_PER_TRIP:
            self._forgotten.popitem(last=False)

    def _cart(self, cart_id: str) -> _Cart:
        cart = self._carts.get(cart_id)
        if cart is None:
            cart = self._carts[cart_id] = _Cart()
        self._carts.move_to_end(cart_id)
        return cart

    def _window(self, cart_id: str, now_ms: int, window_ms: int) -> ivt.CartWindow:
        cart = self._carts.get(cart_id)
        return ivt.CartWindow() if cart is None else cart.window(now_ms, window_ms)

    def judge(
        self,
        event: CartEvent,
        payload: TrackingTokenPayload | None,
        token: ivt.TokenCheck,
        call: CallContext,
        traffic_class: int,
    ) -> int:
        """The event's verdict (0: valid); a valid event joins its trip's and cart's history.

        An event id judged before in the trip (a cart retrying a call) gets its first verdict again
        and changes nothing: a retry must not make an honest trip's clicks look like a burst."""
        trip = self._trip(event.cart_id, event.session_id)
        earlier = trip.judged.get(event.event_id)
        if earlier is not None:
            return earlier
        verdict = ivt.judge_stateless(
            event,
            payload,
            token=token,
            store_id=call.store_id,
            receive_ms=call.receive_ms,
            clock_offset_ms=call.clock_offset_ms,
            traffic_class=traffic_class,
            token_ttl_ms=call.token_ttl_ms,
            policy=call.policy,
        )
        if payload is not None and payload.issue_time_unix_ms < self._started_ms:
            trip.complete = False
        if not verdict and event.type in _JUDGED_IN_TRIP:
            window = self._window(event.cart_id, call.receive_ms, call.policy.outlier_window_s * 1000)
            verdict = ivt.judge_stateful(event, payload, trip.history(), window, call.policy)
        self._remember(trip, event, payload, verdict, call.receive_ms)
        if len(trip.judged) < _MAX_JUDGED_PER_TRIP:
            trip.judged[event.event_id] = verdict
        return verdict

    def _remember(
        self, trip: _Trip, event: CartEvent, payload: TrackingTokenPayload | None, verdict: int, now_ms: int
    ) -> None:
        kind = event.type
        if verdict:
            if kind == _BASKET_ADD and len(trip.invalid_adds) < _MAX_IDS_PER_TRIP:
                trip.invalid_adds.add(event.event_id)
            return
        ad_id = payload.ad_id if payload is not None else event.ad_id
        if kind == _IMPRESSION:
            if len(trip.impressed) < _MAX_IDS_PER_TRIP:
                trip.impressed.add(ad_id)
            self._carts[event.cart_id].touch(now_ms, False)
        elif kind == _CLICK:
            trip.clicks += 1
            if ad_id in trip.clicks_by_ad or len(trip.clicks_by_ad) < _MAX_IDS_PER_TRIP:
                trip.clicks_by_ad[ad_id] = trip.clicks_by_ad.get(ad_id, 0) + 1
            self._carts[event.cart_id].touch(now_ms, True)
        elif kind == _CONVERSION:
            trip.conversions += 1
