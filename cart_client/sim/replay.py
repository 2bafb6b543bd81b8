"""Simulated trips replayed against an edge: each trip through the cart's own shell with a simulated
shopper taking its touches' chances to tap, several carts at once, each on its own connection.

Shared by ``cartads-sim --replay`` and the demo; with a sensor bus, each trip's devices publish
on MQTT and its cart subscribes, as in a store.

Each simulated cart keeps one outbox over all its trips, as a real cart does: on disk under
``state_dir/<cart id>/`` (the cart's own ``SqliteOutbox``) when a state directory is given, else in
memory. Events a trip could not report (the edge was down when it ended) go out with the cart's
next trip, then in a drain after its last one that retries for ``drain_s``; what is still queued
after that stays on disk and goes out the next time that cart replays with the same directory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import random
import re
import zlib
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from pathlib import Path

from cart_client.app.cli import connect
from cart_client.app.credential import CredentialedAdService
from cart_client.app.outbox import EventOutbox, MemoryOutbox, SqliteOutbox
from cart_client.app.runner import TripStats, drain_outbox, run_trip
from cart_client.app.session import DEFAULT_ADS_DEADLINE_S, AdServiceClient
from cart_client.bus.mqtt import BusConfig, MqttSensorFeed
from cart_client.bus.publisher import BusPublisher
from cart_client.bus.topics import CartTopics
from cart_client.sensors.trace import SensorEvent
from cart_client.sim.bus_trace import ScaleNoise, bus_events
from cart_client.sim.relevance import SimulatedShopper
from cart_client.trip.catalog import CartCatalog
from cartads.credential_file import CartCredentialEntry
from cartads.v1 import ad_service_pb2_grpc

# How long a simulated shopper looks at an answer's ads before they count as viewed: a little over
# the one viewable second, so the edge's invalid-traffic rules (no impression sooner than a person
# could have seen the ad) find nothing to refuse in an honest replay.
HUMAN_DWELL_S = 1.2

# A trip to replay: its session id and its sensor events (a file feed stays unread until its turn).
TripToReplay = tuple[str, Iterable[SensorEvent] | AsyncIterable[SensorEvent]]

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def outbox_dir(state_dir: Path, cart_id: str) -> Path:
    """Where one simulated cart keeps its outbox: its id as the directory name when that is a plain
    file name, else a digest of it (an id never reaches outside ``state_dir``)."""
    if _PLAIN_NAME.fullmatch(cart_id):
        return state_dir / cart_id
    return state_dir / ("cart-" + hashlib.sha256(cart_id.encode()).hexdigest()[:32])


def _unreported_only_at_end(stats: TripStats) -> TripStats:
    # A cart's trips share its outbox, so what one trip left queued another may send: the cart's
    # unreported count is what its outbox holds at the very end, carried by its last trip.
    return dataclasses.replace(stats, events_unreported=0)


def _with_drain(last: TripStats, drained: TripStats) -> TripStats:
    return dataclasses.replace(
        last,
        events_reported=last.events_reported + drained.events_reported,
        plays_reported=last.plays_reported + drained.plays_reported,
        impressions_reported=last.impressions_reported + drained.impressions_reported,
        clicks_reported=last.clicks_reported + drained.clicks_reported,
        report_errors=last.report_errors + drained.report_errors,
        events_rejected=last.events_rejected + drained.events_rejected,
        events_unreported=drained.events_unreported,
    )


async def replay_trip(
    stub: AdServiceClient,
    *,
    store_id: str,
    cart_id: str,
    session_id: str,
    events: Iterable[SensorEvent] | AsyncIterable[SensorEvent],
    catalog: CartCatalog | None = None,
    deadline_s: float = DEFAULT_ADS_DEADLINE_S,
    dwell_s: float = HUMAN_DWELL_S,
    outbox: EventOutbox | None = None,
) -> TripStats:
    """One simulated trip, drawn nowhere, its stats with the chances to tap its shopper had and took."""
    shopper = SimulatedShopper()
    stats = await run_trip(
        stub,
        store_id=store_id,
        cart_id=cart_id,
        session_id=session_id,
        events=events,
        render=lambda _line: None,
        deadline_s=deadline_s,
        catalog=catalog,
        taps=shopper,
        dwell_s=dwell_s,
        outbox=outbox,
    )
    return dataclasses.replace(stats, tap_chances=shopper.tap_chances, tap_chances_taken=shopper.tap_chances_taken)


async def publish_trip(publisher: BusPublisher, events: Sequence[SensorEvent]) -> None:
    """Publish every event in order, each acknowledged before the next, then clear the retained location."""
    for event in events:
        await publisher.publish(event)
    await publisher.clear_location()


async def replay_trip_over_bus(
    stub: AdServiceClient,
    *,
    bus: BusConfig,
    store_id: str,
    cart_id: str,
    session_id: str,
    events: Sequence[SensorEvent],
    catalog: CartCatalog,
    seed: int,
    noise: ScaleNoise | None = None,
    deadline_s: float = DEFAULT_ADS_DEADLINE_S,
    dwell_s: float = HUMAN_DWELL_S,
    outbox: EventOutbox | None = None,
) -> TripStats:
    """One simulated trip, its devices on the bus and the cart subscribed to it; its stats."""
    topics = CartTopics(store_id, cart_id, bus.prefix)
    published = bus_events(events, catalog, random.Random(seed), noise)
    async with MqttSensorFeed(topics, bus) as feed, BusPublisher(topics, bus) as publisher:
        await feed.wait_connected()
        publishing = asyncio.create_task(publish_trip(publisher, published))
        try:
            stats = await replay_trip(
                stub,
                store_id=store_id,
                cart_id=cart_id,
                session_id=session_id,
                events=feed.events(),
                catalog=catalog,
                deadline_s=deadline_s,
                dwell_s=dwell_s,
                outbox=outbox,
            )
        except BaseException:
            publishing.cancel()
            raise
        await publishing
    return stats


async def _listed(events: Iterable[SensorEvent] | AsyncIterable[SensorEvent]) -> list[SensorEvent]:
    if isinstance(events, AsyncIterable):
        return [event async for event in events]
    return list(events)


async def replay_trips(
    edge_address: str,
    trips: Sequence[TripToReplay],
    *,
    store_id: str,
    carts: int,
    cart_id_prefix: str,
    catalog: CartCatalog | None = None,
    deadline_s: float = DEFAULT_ADS_DEADLINE_S,
    dwell_s: float = HUMAN_DWELL_S,
    credentials: Sequence[CartCredentialEntry] = (),
    state_dir: Path | None = None,
    drain_s: float = 0.0,
    on_trip: Callable[[str, TripStats], None] | None = None,
    sensor_bus: BusConfig | None = None,
) -> list[TripStats]:
    """Every trip, shared out among ``carts`` concurrent carts (``<cart_id_prefix>000`` and on, or
    with ``credentials`` the enrolled carts, each sending its own credential; at most one cart per
    credential); the stats in the order the trips finished.

    A cart's outbox lives in ``state_dir`` when given (see the module's docstring); after its last
    trip the cart keeps trying to send what it holds for up to ``drain_s``. Each cart's unreported
    events are counted once, on its last trip's stats. ``on_trip`` hears each trip's cart and final
    stats once the cart is done (what each cart reported, drained events included, for a reconciliation).
    With ``sensor_bus`` (and a ``catalog``) each trip's devices publish on the bus and its cart reads
    it from there."""
    if sensor_bus is not None and catalog is None:
        raise ValueError("replaying on the sensor bus needs the catalog: its barcodes are what the scanners print")
    if credentials:
        carts = min(carts, len(credentials))
    queue: asyncio.Queue[TripToReplay] = asyncio.Queue()
    for trip in trips:
        queue.put_nowait(trip)
    results: list[TripStats] = []

    async def cart(number: int) -> None:
        # Each cart has its own connection, as real carts do, opened before its first trip.
        async with await connect(edge_address) as channel:
            enrolled = credentials[number] if credentials else None
            cart_id = enrolled.cart_id if enrolled is not None else f"{cart_id_prefix}{number:03d}"
            # Always wrapped: a refused credential stops the replay with the reason, not a retry loop.
            stub = CredentialedAdService(
                ad_service_pb2_grpc.AdServiceStub(channel), enrolled.credential if enrolled is not None else ""
            )
            if queue.empty():
                return  # no trip for this cart: its outbox, if any, waits for a run that has one
            outbox: EventOutbox = (
                SqliteOutbox(outbox_dir(state_dir, cart_id)) if state_dir is not None else MemoryOutbox()
            )
            mine: list[int] = []  # this cart's places in ``results`` (other carts append meanwhile)
            try:
                last = -1
                while not queue.empty():
                    session_id, events = queue.get_nowait()
                    if sensor_bus is not None:
                        assert catalog is not None  # checked above
                        stats = await replay_trip_over_bus(
                            stub,
                            bus=sensor_bus,
                            store_id=store_id,
                            cart_id=cart_id,
                            session_id=session_id,
                            events=await _listed(events),
                            catalog=catalog,
                            seed=zlib.crc32(session_id.encode()),
                            deadline_s=deadline_s,
                            dwell_s=dwell_s,
                            outbox=outbox,
                        )
                    else:
                        stats = await replay_trip(
                            stub,
                            store_id=store_id,
                            cart_id=cart_id,
                            session_id=session_id,
                            events=events,
                            catalog=catalog,
                            deadline_s=deadline_s,
                            dwell_s=dwell_s,
                            outbox=outbox,
                        )
                    last = len(results)
                    mine.append(last)
                    results.append(_unreported_only_at_end(stats))
                drained = await drain_outbox(stub, outbox, store_id=store_id, cart_id=cart_id, within_s=drain_s)
                results[last] = _with_drain(results[last], drained)
            finally:
                outbox.close()
            if on_trip is not None:
                for place in mine:
                    on_trip(cart_id, results[place])

    await asyncio.gather(*(cart(n) for n in range(max(1, carts))))
    return results


__all__ = [
    "HUMAN_DWELL_S",
    "TripToReplay",
    "outbox_dir",
    "publish_trip",
    "replay_trip",
    "replay_trip_over_bus",
    "replay_trips",
]
