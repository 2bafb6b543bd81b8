"""Replaying a simulated trip through the sensor bus: the trip's devices publish on MQTT what the
trace says, with realistic noise (``bus_trace``), while the cart reads its bus as it would in a store.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from cart_client.app.runner import TripStats
from cart_client.app.session import DEFAULT_ADS_DEADLINE_S, AdServiceClient
from cart_client.bus.mqtt import BusConfig, MqttSensorFeed
from cart_client.bus.publisher import BusPublisher
from cart_client.bus.topics import CartTopics
from cart_client.sensors.trace import SensorEvent
from cart_client.sim.bus_trace import ScaleNoise, bus_events
from cart_client.sim.replay import HUMAN_DWELL_S, replay_trip
from cart_client.trip.catalog import CartCatalog


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
            )
        except BaseException:
            publishing.cancel()
            raise
        await publishing
    return stats


__all__ = ["publish_trip", "replay_trip_over_bus"]
