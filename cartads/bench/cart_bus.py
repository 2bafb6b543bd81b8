"""``cartads-bench cart``, the sensor-bus part: what one bus message and one raw scale reading cost the cart.

The simulated trips are turned into what their devices would publish (``cart_client.sim.bus_trace``):
printed symbols and the load cell's raw stream. Measured, per message: decoding the MQTT payload
alone, and decoding plus the trip core (the stable-scale filter, scan resolution, fusion); per raw
scale reading: the trip core's share for readings alone. With ``--sensor-bus`` the messages also
cross a real broker, published at QoS 1 (each acknowledged) and received by a subscribed cart.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import time
import uuid

from cart_client.app.catalog_loader import cart_catalog_from_sample
from cart_client.bus.mqtt import BusConfig, MqttSensorFeed
from cart_client.bus.publisher import BusPublisher
from cart_client.bus.topics import BusDecoder, CartTopics, encode_event
from cart_client.sensors.trace import Checkout, ScaleReading, SensorEvent
from cart_client.sim.bus_trace import bus_events
from cart_client.sim.simulator import simulate
from cart_client.trip.core import CartTrip
from cartads.bench.timing import median_s
from cartads.sample.instacart import load_catalog, load_orders

TOPICS = CartTopics("bench-store", "bench-cart")


def measure(args: argparse.Namespace) -> dict[str, float]:
    """Decode and core cost per bus message, core cost per raw scale reading (microseconds)."""
    sample = load_catalog()
    catalog = cart_catalog_from_sample(sample)
    trips = simulate(load_orders(), sample, count=args.trips, seed=args.seed)
    published = [bus_events(trip.events, catalog, random.Random(n)) for n, trip in enumerate(trips)]
    messages = [[(TOPICS.topic(s), p) for s, p in (encode_event(e, seq=i) for i, e in enumerate(t))] for t in published]
    count = sum(len(trip) for trip in messages)
    raw = [[e for e in trip if isinstance(e, ScaleReading)] for trip in published]
    raw_count = sum(len(trip) for trip in raw)
    ids = itertools.count()

    def decode_only() -> None:
        for trip in messages:
            decoder = BusDecoder(TOPICS)
            for topic, payload in trip:
                decoder.decode(topic, payload)

    def decode_and_core() -> None:
        for trip in messages:
            decoder = BusDecoder(TOPICS)
            cart = CartTrip(store_id="s", cart_id="c", session_id="t", new_id=lambda: str(next(ids)), catalog=catalog)
            for topic, payload in trip:
                event = decoder.decode(topic, payload)
                if isinstance(event, SensorEvent):
                    cart.feed(event, event.t_ms or 0)

    def readings_only() -> None:
        for trip in raw:
            cart = CartTrip(store_id="s", cart_id="c", session_id="t", new_id=lambda: str(next(ids)), catalog=catalog)
            for reading in trip:
                cart.feed(reading, reading.t_ms or 0)

    results = {
        "bus_messages": count,
        "raw_scale_readings": raw_count,
        "bus_decode_us_per_message": round(median_s(args.rounds, decode_only) / count * 1e6, 2),
        "bus_core_us_per_message": round(median_s(args.rounds, decode_and_core) / count * 1e6, 2),
        "core_us_per_raw_scale_reading": round(median_s(args.rounds, readings_only) / raw_count * 1e6, 2),
    }
    if args.sensor_bus is not None:
        events = [e for trip in published[: max(1, args.broker_trips)] for e in trip if not isinstance(e, Checkout)]
        results.update(asyncio.run(_through_broker(args.sensor_bus, [*events, Checkout()])))
    return results


async def _through_broker(config: BusConfig, events: list[SensorEvent]) -> dict[str, float]:
    topics = CartTopics("bench-store", f"bench-{uuid.uuid4().hex[:8]}", config.prefix)
    async with MqttSensorFeed(topics, config) as feed, BusPublisher(topics, config) as publisher:
        await feed.wait_connected()
        started = time.perf_counter()
        received = asyncio.create_task(_drain(feed))
        for event in events:
            await publisher.publish(event)
        got = await asyncio.wait_for(received, 120)
        elapsed = time.perf_counter() - started
    return {"broker_messages": got, "broker_us_per_message": round(elapsed / got * 1e6, 1)}


async def _drain(feed: MqttSensorFeed) -> int:
    return sum([1 async for _ in feed.events()])


__all__ = ["measure"]
