"""Replaying a sensor trace against an edge: the shell of one trip, for ``cartads-cart --trace``,
the demo, the simulator and the benchmarks.

The trip clock is the trace's own ``t_ms`` where it has one (a simulated half-hour trip replays in
milliseconds, its dwells and idle times intact) and the wall clock since the trip started where it
does not (a live feed). Reported events carry the wall clock either way.

The edge can be down or slow at any moment (store Wi-Fi), and a trip must still go on: a failed
GetAds puts house content in empty slots, and events that could not be reported stay in the outbox
and go out, with the same event ids, in a later ReportEvents call. The edge deduplicates on the
event id, so a batch that was journaled but whose answer was lost is billed once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cart_client.app.outbox import EventOutbox, MemoryOutbox
from cart_client.app.session import (
    DEFAULT_ADS_DEADLINE_S,
    DEFAULT_REPORT_DEADLINE_S,
    MAX_EVENTS_PER_REPORT,
    AdServiceClient,
    CartSession,
    TapDecider,
)
from cart_client.screen.text import ad_line
from cart_client.sensors.trace import SensorEvent
from cart_client.trip.catalog import CartCatalog
from cart_client.trip.core import DEFAULT_SLOTS, MIN_VIEWABLE_MS, CartTrip, SlotSpec
from cart_client.trip.fusion import FusionConfig
from cart_client.trip.policy import RequestPolicyConfig
from cartads.v1 import common_pb2


@dataclass(frozen=True, slots=True)
class TripStats:
    """What one trip did; the *_reported counts are only what the edge acknowledged."""

    sensor_events: int = 0
    # Every GetAds call once: ad_requests = ad_requests_filled + no_fill_count + ad_request_errors.
    ad_requests: int = 0
    ad_request_errors: int = 0
    ad_requests_filled: int = 0
    ad_requests_suppressed: int = 0
    # Ads in the filled answers: one answer fills up to one ad per slot.
    ads_served: int = 0
    ads_rendered: int = 0
    house_fills: int = 0
    no_fill_count: int = 0
    basket_adds: int = 0
    basket_removes: int = 0
    mismatches: int = 0
    # The chances to tap a simulated shopper had and took (``cart_client.sim``); a real cart has none.
    tap_chances: int = 0
    tap_chances_taken: int = 0
    events_reported: int = 0
    plays_reported: int = 0
    impressions_reported: int = 0
    clicks_reported: int = 0
    report_errors: int = 0
    # Still queued because the edge never acknowledged them: when the trip ended, or for a replayed
    # cart (``cart_client.sim``) when its last trip and its outbox drain ended, on that last trip.
    events_unreported: int = 0
    # Dropped because the edge refused their batch as invalid (never retried).
    events_rejected: int = 0
    # Dropped because the outbox was full after a very long outage.
    events_dropped: int = 0
    # The no-fill answers by the edge's reason (``BUDGET_EXHAUSTED``...); they add up to no_fill_count.
    no_fill_reasons: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The counts by name, for JSON output (``no_fill_reasons`` an object of counts)."""
        return dataclasses.asdict(self)

    @property
    def billable_events_reported(self) -> int:
        """The reported events a decision's token can bill: impressions and clicks."""
        return self.impressions_reported + self.clicks_reported

    def requests_text(self) -> str:
        """The requests and what became of them, e.g. ``8 ad requests: 1 filled, 7 no fill
        (BUDGET_EXHAUSTED 5, FREQUENCY_CAPPED 2), 0 failed``."""
        reasons = ", ".join(f"{name} {n}" for name, n in sorted(self.no_fill_reasons.items(), key=lambda kv: -kv[1]))
        no_fill = f"{self.no_fill_count} no fill" + (f" ({reasons})" if reasons else "")
        return (
            f"{self.ad_requests} ad requests: {self.ad_requests_filled} filled, {no_fill},"
            f" {self.ad_request_errors} failed"
        )

    @staticmethod
    def total(stats: Iterable[TripStats]) -> TripStats:
        """The field-by-field sum of several trips' stats."""
        sums = {f.name: 0 for f in dataclasses.fields(TripStats) if f.name != "no_fill_reasons"}
        reasons: Counter[str] = Counter()
        for one in stats:
            for name in sums:
                sums[name] += getattr(one, name)
            reasons.update(one.no_fill_reasons)
        return TripStats(**sums, no_fill_reasons=dict(sorted(reasons.items())))

    @staticmethod
    def of(session: CartSession) -> TripStats:
        """The stats of a session so far."""
        tally, counters = session.tally, session.trip.counters
        return TripStats(
            sensor_events=counters.sensor_events,
            ad_requests=tally.ad_requests,
            ad_request_errors=tally.ad_request_errors,
            ad_requests_filled=tally.ad_requests_filled,
            ad_requests_suppressed=counters.ad_requests_suppressed,
            ads_served=tally.ads_served,
            ads_rendered=tally.ads_rendered,
            house_fills=tally.house_fills,
            no_fill_count=tally.no_fill_count,
            basket_adds=counters.basket_adds,
            basket_removes=counters.basket_removes,
            mismatches=counters.mismatches,
            events_reported=tally.events_reported,
            plays_reported=tally.plays_reported,
            impressions_reported=tally.impressions_reported,
            clicks_reported=tally.clicks_reported,
            report_errors=tally.report_errors,
            events_unreported=session.outbox.depth(),
            events_rejected=tally.events_rejected,
            events_dropped=tally.events_dropped,
            no_fill_reasons=dict(sorted(tally.no_fill_reasons.items())),
        )


def _uuid_hex() -> str:
    return uuid.uuid4().hex


async def _each(events: Iterable[SensorEvent] | AsyncIterable[SensorEvent]) -> AsyncIterator[SensorEvent]:
    if isinstance(events, AsyncIterable):
        async for event in events:
            yield event
    else:
        for event in events:
            yield event


_AD_EVENTS = frozenset({common_pb2.EVENT_TYPE_IMPRESSION, common_pb2.EVENT_TYPE_CLICK})


async def hold_for_viewability(
    outbox: EventOutbox, clock: Callable[[], float], sleep: Callable[[float], Awaitable[None]]
) -> None:
    """Wait until the newest queued impression or click is a viewable second old.

    The text screen counts an ad viewed as it draws it, and a trace replays faster than a shopper
    walks: sent at once, its impressions and clicks would reach the edge sooner after their
    decision than a person can have seen the ad (invalid traffic rule TOO_FAST, cartads/ivt.py).
    """
    times = [e.occur_time.ToMilliseconds() for e in outbox.peek(MAX_EVENTS_PER_REPORT) if e.type in _AD_EVENTS]
    if times:
        delay_s = (max(times) + MIN_VIEWABLE_MS) / 1000 - clock()
        if delay_s > 0:
            await sleep(delay_s)


async def run_trip(
    stub: AdServiceClient,
    *,
    store_id: str,
    cart_id: str,
    session_id: str,
    events: Iterable[SensorEvent] | AsyncIterable[SensorEvent],
    render: Callable[[str], None] = print,
    new_id: Callable[[], str] = _uuid_hex,
    deadline_s: float = DEFAULT_ADS_DEADLINE_S,
    report_deadline_s: float = DEFAULT_REPORT_DEADLINE_S,
    clock: Callable[[], float] = time.time,
    slots: Sequence[SlotSpec] = DEFAULT_SLOTS,
    catalog: CartCatalog | None = None,
    outbox: EventOutbox | None = None,
    fusion: FusionConfig | None = None,
    policy: RequestPolicyConfig | None = None,
    taps: TapDecider | None = None,
    dwell_s: float = 0.0,
    viewable_wait: bool = False,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> TripStats:
    """Replay one trip's sensor events against an AdService; ``clock`` gives Unix seconds.

    With ``viewable_wait`` (a real cart's text screen) each report holding an impression or a click
    waits until that event is a viewable second old (``hold_for_viewability``); simulations that
    compress time leave it off.

    ``deadline_s`` bounds each GetAds call, ``report_deadline_s`` each ReportEvents call. Without a
    ``catalog`` the scale learns each product's weight from the scan it confirms. ``taps`` decides
    which touches are taps (default: every touch a real screen reports). With ``dwell_s`` > 0 a
    simulated shopper looks at each answer's ads for that long in real time before they count as
    viewed (the edge judges impressions by its own clock); with 0 each ad drawn is its impression.
    """
    trip = CartTrip(
        store_id=store_id,
        cart_id=cart_id,
        session_id=session_id,
        new_id=new_id,
        slots=tuple(slots),
        catalog=catalog,
        fusion=fusion,
        policy=policy,
        impressions_on_render=dwell_s <= 0,
    )
    session = CartSession(
        stub,
        trip,
        outbox if outbox is not None else MemoryOutbox(),
        ads_deadline_s=deadline_s,
        report_deadline_s=report_deadline_s,
        clock=clock,
        render=lambda ad: render(ad_line(ad)),
        taps=taps,
        dwell_s=dwell_s,
    )
    started_s = clock()
    trip_ms = 0
    async for sensor_event in _each(events):
        if sensor_event.t_ms is not None:
            trip_ms = max(trip_ms, sensor_event.t_ms)
        else:
            trip_ms = max(trip_ms, int((clock() - started_s) * 1000))
        await session.sensor(sensor_event, trip_ms)
        if viewable_wait:
            await hold_for_viewability(session.outbox, clock, sleep)
        # One ReportEvents call per sensor event: its basket change, click and impressions together.
        await session.flush()
    # A last try for whatever an outage left queued, so a brief blip at checkout loses nothing.
    await session.flush()
    return TripStats.of(session)


async def drain_outbox(
    stub: AdServiceClient,
    outbox: EventOutbox,
    *,
    store_id: str,
    cart_id: str,
    within_s: float,
    report_deadline_s: float = DEFAULT_REPORT_DEADLINE_S,
    retry_min_s: float = 0.2,
    retry_max_s: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> TripStats:
    """Send what ``outbox`` holds after the cart's trips, retrying with backoff for up to ``within_s``
    while the edge is away; the stats of what was sent (``events_unreported``: what is still queued).

    The session's own flush does the sending, so events leave the outbox only once acknowledged,
    under their own event ids (the edge deduplicates a batch whose answer was lost).
    """
    trip = CartTrip(store_id=store_id, cart_id=cart_id, session_id="outbox-drain", new_id=_uuid_hex)
    session = CartSession(stub, trip, outbox, report_deadline_s=report_deadline_s)
    give_up_at = clock() + within_s
    delay_s = retry_min_s
    while not await session.flush() and clock() + delay_s <= give_up_at:
        await sleep(delay_s)
        delay_s = min(retry_max_s, delay_s * 2)
    return TripStats.of(session)


__all__ = ["MAX_EVENTS_PER_REPORT", "AdServiceClient", "TripStats", "drain_outbox", "run_trip"]
