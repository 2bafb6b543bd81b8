"""The async shell around one trip: talks to the edge, fills the screen, queues and reports events.

Shared by the trace replay (``runner.run_trip``) and the live cart with its touchscreen
(``screen.server``). Whether a touch on the screen is a tap is not the session's to decide: a
real cart's touchscreen reports taps (``TouchscreenTaps``), and a simulator passes its simulated
shoppers in instead. Every GetAds call has a short deadline (50 ms by default) so that the screen
never waits on the edge; when the edge does not answer, empty slots get house content. Events go
into an outbox (on disk for a real cart) before any attempt to send them, and leave it only once the
edge acknowledged them, so an outage delays events but neither loses nor duplicates them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc
import structlog

from cart_client.app import wire
from cart_client.app.outbox import EventOutbox
from cart_client.sensors.trace import ScaleReading, SensorEvent, Touch
from cart_client.trip.core import CartTrip, ScreenAd, Step, TripEvent
from cart_client.trip.house import house_ads
from cartads.rpc.errors import retry_delay_s
from cartads.v1 import ad_service_pb2, common_pb2

# Keeps one call well under the servers' 4 MiB message cap even after a long outage.
MAX_EVENTS_PER_REPORT = 500
DEFAULT_ADS_DEADLINE_S = 0.05
DEFAULT_REPORT_DEADLINE_S = 1.0
# A report refused as over the cart's rate (RESOURCE_EXHAUSTED with a RetryInfo) is sent again after
# the delay the edge asked for, a few times per flush and only for short delays; longer waits are
# left to the next flush, so a trip never stalls on its outbox.
_RATE_RETRIES = 3
_RATE_RETRY_MAX_S = 2.0

# The edge refused the batch itself: sending the same events again cannot succeed, and keeping
# them would block every later event behind them.
_PERMANENT_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)


def _log() -> structlog.typing.FilteringBoundLogger:
    # Looked up per use: logging is configured by whoever runs the trip, possibly after import.
    return structlog.get_logger("cart_client")  # type: ignore[no-any-return]


class AdServiceClient(Protocol):
    """What a cart needs of an AdService: the generated async stub, or an in-memory fake."""

    def GetAds(  # noqa: N802 - the gRPC method's name
        self, request: ad_service_pb2.GetAdsRequest, timeout: float | None = None
    ) -> Awaitable[ad_service_pb2.GetAdsResponse]: ...

    def ReportEvents(  # noqa: N802 - the gRPC method's name
        self, request: ad_service_pb2.ReportEventsRequest, timeout: float | None = None
    ) -> Awaitable[ad_service_pb2.ReportEventsResponse]: ...


class StoreInfoClient(Protocol):
    """Who tells the cart its store's name and zones: the edge's AdService.GetStoreInfo."""

    def GetStoreInfo(  # noqa: N802 - the gRPC method's name
        self, request: ad_service_pb2.GetStoreInfoRequest, timeout: float | None = None
    ) -> Awaitable[ad_service_pb2.GetStoreInfoResponse]: ...


class TapDecider(Protocol):
    """Who decides that a touch on the screen taps the ad in its slot."""

    def is_tap(self, touch: Touch, trip: CartTrip) -> bool:
        """Whether ``touch`` taps the ad ``trip`` shows in its slot; ``trip`` is read, never changed."""
        ...


class TouchscreenTaps:
    """A real cart's: a touch the screen reported is the shopper's tap.

    A touch carrying a ``propensity`` is only a chance to tap that a simulator wrote into a trace;
    without a simulated shopper to take it, nobody taps, so a real cart never bills an invented click.
    """

    def is_tap(self, touch: Touch, trip: CartTrip) -> bool:
        """True for every touch but a simulated chance to tap."""
        return touch.propensity is None


def no_fill_reason_name(reason: int) -> str:
    """A NoFillReason's name without its prefix (``BUDGET_EXHAUSTED``); the number for one newer than the cart."""
    try:
        return ad_service_pb2.NoFillReason.Name(reason).removeprefix("NO_FILL_REASON_")
    except ValueError:
        return str(reason)


def _describe(exc: grpc.RpcError) -> str:
    return exc.code().name if isinstance(exc, grpc.aio.AioRpcError) else type(exc).__name__


@dataclass
class Tally:
    """What the shell did, counted as the edge answered."""

    ad_requests: int = 0
    ad_request_errors: int = 0
    # Answers holding at least one ad; with the errors and the no-fills, every request once.
    ad_requests_filled: int = 0
    ads_served: int = 0
    ads_rendered: int = 0
    house_fills: int = 0
    no_fill_count: int = 0
    # The answers without an ad by the edge's NoFillReason (its name without the prefix).
    no_fill_reasons: Counter[str] = dataclasses.field(default_factory=Counter)
    events_reported: int = 0
    plays_reported: int = 0
    impressions_reported: int = 0
    clicks_reported: int = 0
    report_errors: int = 0
    events_rejected: int = 0
    events_dropped: int = 0


class CartSession:
    """One trip on one cart, with its edge, its outbox and whoever draws the screen."""

    def __init__(
        self,
        stub: AdServiceClient,
        trip: CartTrip,
        outbox: EventOutbox,
        *,
        ads_deadline_s: float = DEFAULT_ADS_DEADLINE_S,
        report_deadline_s: float = DEFAULT_REPORT_DEADLINE_S,
        clock: Callable[[], float] = time.time,
        render: Callable[[ScreenAd], None] | None = None,
        on_change: Callable[[], None] | None = None,
        taps: TapDecider | None = None,
        dwell_s: float = 0.0,
    ) -> None:
        self.stub = stub
        self.trip = trip
        self.outbox = outbox
        self.tally = Tally()
        self.edge_reachable = True
        self._ads_deadline_s = ads_deadline_s
        self._report_deadline_s = report_deadline_s
        self._clock = clock
        self._render = render
        self._taps = taps if taps is not None else TouchscreenTaps()
        self._dwell_s = dwell_s
        self.on_change = on_change
        # Called when events were queued, so a background sender can wake up (the live screen has one).
        self.on_queued: Callable[[], None] | None = None
        self._ids = {"store_id": trip.store_id, "cart_id": trip.cart_id, "session_id": trip.session_id}

    # --- inputs ---------------------------------------------------------------------------------

    async def advance_to(self, trip_ms: int) -> None:
        """Fire every timer (dwell, idle, overdue scan) due by ``trip_ms``, each at its own time."""
        while (deadline := self.trip.next_deadline_ms()) is not None and deadline <= trip_ms:
            await self._perform(self.trip.advance(deadline), deadline)
            if self.trip.next_deadline_ms() == deadline:
                break  # nothing moved; never spin

    async def sensor(self, event: SensorEvent, trip_ms: int) -> None:
        """One sensor reading at trip time ``trip_ms``."""
        if not isinstance(event, ScaleReading):
            # A load cell streams all the time: its raw readings are not ticks of the trip's clock.
            await self.advance_to(trip_ms)
        if isinstance(event, Touch) and not self._taps.is_tap(event, self.trip):
            return
        refused = self.trip.counters.refused_codes
        await self._perform(self.trip.feed(event, trip_ms), trip_ms)
        if self.trip.counters.refused_codes > refused:
            scan = self.trip.refused_scans[-1]
            _log().warning("scan_refused", code=scan.code, reason=scan.reason, **self._ids)

    async def played(self, ad_id: str, trip_ms: int) -> bool:
        """The screen put ``ad_id`` on screen; True when that made a play."""
        event = self.trip.played(ad_id, trip_ms)
        await self._perform(Step(events=(event,) if event else ()), trip_ms)
        return event is not None

    async def viewed(self, ad_id: str, visible_ms: int, trip_ms: int) -> bool:
        """The screen measured ``ad_id`` viewable; True when that earned an impression."""
        event = self.trip.viewed(ad_id, visible_ms, trip_ms)
        await self._perform(Step(events=(event,) if event else ()), trip_ms)
        return event is not None

    async def tapped(self, ad_id: str, trip_ms: int) -> bool:
        """The shopper tapped ``ad_id`` on the screen; True when that made a click."""
        event = self.trip.tap_ad(ad_id, trip_ms)
        await self._perform(Step(events=(event,) if event else ()), trip_ms)
        return event is not None

    # --- reporting --------------------------------------------------------------------------------

    async def flush(self) -> bool:
        """Send what the outbox holds, oldest first; False when the edge could not be reached."""
        rate_retries = _RATE_RETRIES
        while batch := self.outbox.peek(MAX_EVENTS_PER_REPORT):
            request = ad_service_pb2.ReportEventsRequest(
                store_id=self.trip.store_id, cart_id=self.trip.cart_id, events=batch
            )
            ids = [event.event_id for event in batch]
            try:
                await self.stub.ReportEvents(request, timeout=self._report_deadline_s)
            except grpc.RpcError as exc:
                self.tally.report_errors += 1
                if isinstance(exc, grpc.aio.AioRpcError) and exc.code() in _PERMANENT_CODES:
                    self.outbox.ack(ids)
                    self.tally.events_rejected += len(batch)
                    _log().error("report_rejected", code=_describe(exc), details=exc.details(), dropped=len(batch))
                    continue
                delay_s = retry_delay_s(exc) if isinstance(exc, grpc.aio.AioRpcError) else None
                if delay_s is not None and delay_s <= _RATE_RETRY_MAX_S and rate_retries > 0:
                    rate_retries -= 1
                    await asyncio.sleep(delay_s)  # the wait the edge asked for (RetryInfo), not a guess
                    continue
                _log().warning("report_failed", code=_describe(exc), queued=self.outbox.depth(), **self._ids)
                return False
            self.outbox.ack(ids)
            self._count(batch)
        return True

    def _count(self, batch: Sequence[common_pb2.CartEvent]) -> None:
        self.tally.events_reported += len(batch)
        self.tally.plays_reported += sum(1 for e in batch if e.type == common_pb2.EVENT_TYPE_AD_PLAY)
        self.tally.impressions_reported += sum(1 for e in batch if e.type == common_pb2.EVENT_TYPE_IMPRESSION)
        self.tally.clicks_reported += sum(1 for e in batch if e.type == common_pb2.EVENT_TYPE_CLICK)

    # --- actions ----------------------------------------------------------------------------------

    def _queue(self, events: Sequence[TripEvent]) -> None:
        if not events:
            return
        # The core's times are the trip clock; the edge and the cloud want the wall clock.
        now_ms = int(self._clock() * 1000)
        stamped = [dataclasses.replace(event, occur_unix_ms=now_ms) for event in events]
        messages = [wire.cart_event(e, cart_id=self.trip.cart_id, session_id=self.trip.session_id) for e in stamped]
        dropped = self.outbox.append(messages)
        if self.on_queued is not None:
            self.on_queued()
        if dropped:
            self.tally.events_dropped += dropped
            _log().error("outbox_full", dropped=dropped, **self._ids)

    async def _perform(self, step: Step, trip_ms: int) -> None:
        self._queue(step.events)
        if step.events or step.ad_requests:
            self._changed()
        for ad_request in step.ad_requests:
            self.tally.ad_requests += 1
            request = wire.get_ads_request(ad_request, **self._ids)
            try:
                response = await self.stub.GetAds(request, timeout=self._ads_deadline_s)
            except grpc.RpcError as exc:
                self.tally.ad_request_errors += 1
                self.edge_reachable = False
                _log().warning("get_ads_failed", code=_describe(exc), trigger=str(ad_request.trigger), **self._ids)
                self._fill_with_house_content()
                continue
            self.edge_reachable = True
            ads = wire.screen_ads(response)
            self.tally.ads_served += len(ads)
            if ads:
                self.tally.ad_requests_filled += 1
            else:
                self.tally.no_fill_count += 1
                self.tally.no_fill_reasons[no_fill_reason_name(response.no_fill_reason)] += 1
            answered_s = self._clock()
            shown = self.trip.receive_ads(ads, trip_ms)
            self._draw(shown.rendered)
            self.tally.ads_rendered += len(shown.rendered)
            self._queue(shown.events)
            if self._render is not None:
                # A text screen has drawn them now: that is each ad's play (the core made it already
                # when it also counts drawing as viewing). A page reports its own renders (``played``).
                self._queue([e for ad in shown.rendered if (e := self.trip.played(ad.ad_id, trip_ms)) is not None])
            # A slot the answer left empty (no fill) shows the store's own content, not a hole.
            self._fill_with_house_content()
            if self._dwell_s > 0 and shown.rendered:
                await self._look_at(shown.rendered, trip_ms, answered_s)
            self._changed()

    def _fill_with_house_content(self) -> None:
        trip = self.trip
        basket = {product_id for product_id, _ in trip.fusion.basket()}
        placed = trip.fill_empty_slots(house_ads(trip.slots, catalog=trip.catalog, zone_id=trip.zone_id, basket=basket))
        self.tally.house_fills += len(placed)
        if placed:
            self._draw(placed)
            self._changed()

    async def _look_at(self, ads: Sequence[ScreenAd], trip_ms: int, since_s: float) -> None:
        # A simulated shopper looks at the screen in real time: the edge and the cloud judge an
        # impression by their own clocks (no sooner than a person could have seen the ad for a
        # viewable second), so a headless replay must take that second as a person would.
        await asyncio.sleep(self._dwell_s)
        visible_ms = int((self._clock() - since_s) * 1000)
        self._queue([e for ad in ads if (e := self.trip.viewed(ad.ad_id, visible_ms, trip_ms)) is not None])

    def _draw(self, ads: Sequence[ScreenAd]) -> None:
        if self._render is not None:
            for ad in ads:
                self._render(ad)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()


__all__ = [
    "DEFAULT_ADS_DEADLINE_S",
    "DEFAULT_REPORT_DEADLINE_S",
    "MAX_EVENTS_PER_REPORT",
    "AdServiceClient",
    "CartSession",
    "StoreInfoClient",
    "Tally",
    "TapDecider",
    "TouchscreenTaps",
    "no_fill_reason_name",
]
