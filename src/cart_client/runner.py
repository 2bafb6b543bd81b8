"""The shell around the trip core: talks to the store's AdService, draws ads, reports events.

The edge can be down or slow at any moment (store Wi-Fi), and a trip must still go on: a failed
GetAds leaves the screen as it was, and events that could not be reported stay queued in memory
and go out, with the same event ids, in the next ReportEvents call. The edge deduplicates on the
event id, so a batch that was journaled but whose answer was lost is billed once.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc
import structlog

from cart_client import wire
from cart_client.render import ad_line
from cart_client.trace import SensorEvent
from cart_client.trip import DEFAULT_SLOTS, CartTrip, EventKind, SlotSpec, TripEvent
from cartads.v1 import ad_service_pb2

# Keeps one call well under the servers' 4 MiB message cap even after a long outage.
MAX_EVENTS_PER_REPORT = 500

# The edge refused the batch itself: sending the same events again cannot succeed, and keeping
# them would block every later event of the trip behind them.
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
    """What run_trip needs of an AdService: the generated async stub, or an in-memory fake."""

    def GetAds(  # noqa: N802 - the gRPC method's name
        self, request: ad_service_pb2.GetAdsRequest, timeout: float | None = None
    ) -> Awaitable[ad_service_pb2.GetAdsResponse]: ...

    def ReportEvents(  # noqa: N802 - the gRPC method's name
        self, request: ad_service_pb2.ReportEventsRequest, timeout: float | None = None
    ) -> Awaitable[ad_service_pb2.ReportEventsResponse]: ...


@dataclass(frozen=True, slots=True)
class TripStats:
    """What one trip did; the *_reported counts are only what the edge acknowledged."""

    sensor_events: int = 0
    ad_requests: int = 0
    ad_request_errors: int = 0
    ads_served: int = 0
    ads_rendered: int = 0
    no_fill_count: int = 0
    events_reported: int = 0
    impressions_reported: int = 0
    clicks_reported: int = 0
    report_errors: int = 0
    # Still queued when the trip ended because the edge never acknowledged them.
    events_unreported: int = 0
    # Dropped because the edge refused their batch as invalid (never retried).
    events_rejected: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by name, for JSON output."""
        return dataclasses.asdict(self)

    @staticmethod
    def total(stats: Iterable[TripStats]) -> TripStats:
        """The field-by-field sum of several trips' stats."""
        sums = dict.fromkeys((f.name for f in dataclasses.fields(TripStats)), 0)
        for one in stats:
            for name, value in one.as_dict().items():
                sums[name] += value
        return TripStats(**sums)


def _uuid_hex() -> str:
    return uuid.uuid4().hex


async def _each(events: Iterable[SensorEvent] | AsyncIterable[SensorEvent]) -> AsyncIterator[SensorEvent]:
    if isinstance(events, AsyncIterable):
        async for event in events:
            yield event
    else:
        for event in events:
            yield event


def _describe(exc: grpc.RpcError) -> str:
    return exc.code().name if isinstance(exc, grpc.aio.AioRpcError) else type(exc).__name__


@dataclass
class _Tally:
    ad_requests: int = 0
    ad_request_errors: int = 0
    ads_served: int = 0
    ads_rendered: int = 0
    no_fill_count: int = 0
    events_reported: int = 0
    impressions_reported: int = 0
    clicks_reported: int = 0
    report_errors: int = 0
    events_rejected: int = 0


class _Reporter:
    """Holds the events not yet acknowledged and sends them in order, oldest first."""

    def __init__(
        self, stub: AdServiceClient, tally: _Tally, *, store_id: str, cart_id: str, session_id: str, deadline_s: float
    ) -> None:
        self._stub = stub
        self._tally = tally
        self._ids = {"store_id": store_id, "cart_id": cart_id, "session_id": session_id}
        self._deadline_s = deadline_s
        self.pending: list[TripEvent] = []

    async def flush(self) -> None:
        while self.pending:
            batch = self.pending[:MAX_EVENTS_PER_REPORT]
            request = wire.report_events_request(batch, **self._ids)
            try:
                await self._stub.ReportEvents(request, timeout=self._deadline_s)
            except grpc.RpcError as exc:
                self._tally.report_errors += 1
                if isinstance(exc, grpc.aio.AioRpcError) and exc.code() in _PERMANENT_CODES:
                    del self.pending[: len(batch)]
                    self._tally.events_rejected += len(batch)
                    _log().error("report_rejected", code=_describe(exc), details=exc.details(), dropped=len(batch))
                    continue
                _log().warning("report_failed", code=_describe(exc), queued=len(self.pending), **self._ids)
                return
            del self.pending[: len(batch)]
            self._count(batch)

    def _count(self, batch: Sequence[TripEvent]) -> None:
        self._tally.events_reported += len(batch)
        self._tally.impressions_reported += sum(1 for e in batch if e.kind is EventKind.IMPRESSION)
        self._tally.clicks_reported += sum(1 for e in batch if e.kind is EventKind.CLICK)


async def run_trip(
    stub: AdServiceClient,
    *,
    store_id: str,
    cart_id: str,
    session_id: str,
    events: Iterable[SensorEvent] | AsyncIterable[SensorEvent],
    render: Callable[[str], None] = print,
    new_id: Callable[[], str] = _uuid_hex,
    deadline_s: float = 0.5,
    clock: Callable[[], float] = time.time,
    slots: Sequence[SlotSpec] = DEFAULT_SLOTS,
) -> TripStats:
    """Replay one trip's sensor events against an AdService; ``clock`` gives Unix seconds."""
    trip = CartTrip(store_id=store_id, cart_id=cart_id, session_id=session_id, new_id=new_id, slots=tuple(slots))
    tally = _Tally()
    reporter = _Reporter(stub, tally, store_id=store_id, cart_id=cart_id, session_id=session_id, deadline_s=deadline_s)
    ids = {"store_id": store_id, "cart_id": cart_id, "session_id": session_id}

    def now_ms() -> int:
        return int(clock() * 1000)

    async for sensor_event in _each(events):
        step = trip.feed(sensor_event, now_ms())
        reporter.pending.extend(step.events)
        for ad_request in step.ad_requests:
            tally.ad_requests += 1
            request = wire.get_ads_request(ad_request, **ids)
            try:
                response = await stub.GetAds(request, timeout=deadline_s)
            except grpc.RpcError as exc:
                tally.ad_request_errors += 1
                _log().warning("get_ads_failed", code=_describe(exc), trigger=str(ad_request.trigger), **ids)
                continue
            ads = wire.screen_ads(response)
            tally.ads_served += len(ads)
            if not ads:
                tally.no_fill_count += 1
            shown = trip.receive_ads(ads, now_ms())
            for ad in shown.rendered:
                render(ad_line(ad))
            tally.ads_rendered += len(shown.rendered)
            reporter.pending.extend(shown.events)
        # One ReportEvents call per sensor event: its basket change, click and impressions together.
        await reporter.flush()
    # A last try for whatever an outage left queued, so a brief blip at checkout loses nothing.
    await reporter.flush()
    return TripStats(
        sensor_events=trip.counters.sensor_events,
        events_unreported=len(reporter.pending),
        **dataclasses.asdict(tally),
    )


__all__ = ["MAX_EVENTS_PER_REPORT", "AdServiceClient", "TripStats", "run_trip"]
