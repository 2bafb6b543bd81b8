"""A whole trip on the sensor bus: the same basket and ad requests as its JSON Lines trace, and a broker
restart mid-trip that loses no confirmed basket fact."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import pytest

from cart_client.app.catalog_loader import cart_catalog_from_sample
from cart_client.app.runner import run_trip
from cart_client.bus.mqtt import BusConfig, MqttSensorFeed
from cart_client.bus.publisher import BusPublisher
from cart_client.bus.topics import CartTopics
from cart_client.sensors.trace import SensorEvent, Weight
from cart_client.sim.bus_trace import bus_events
from cart_client.sim.replay import publish_trip
from cart_client.sim.simulator import simulate
from cart_client.trip.catalog import CartCatalog
from cartads.sample.instacart import Catalog, Order
from cartads.v1 import common_pb2
from tests.cart_client.bus.brokers import SHARED_PORT, OwnBroker, require_shared_broker
from tests.cart_client.fakes import FakeAdService
from tests.eventually import eventually

BASKET = (common_pb2.EVENT_TYPE_BASKET_ADD, common_pb2.EVENT_TYPE_BASKET_REMOVE)

Requests = list[tuple[int, str, str, tuple[tuple[str, int], ...]]]
Facts = list[tuple[int, str]]


def _trip(sample: tuple[Catalog, list[Order]], seed: int) -> tuple[CartCatalog, list[SensorEvent]]:
    catalog, orders = sample
    (trip,) = simulate(orders, catalog, count=1, seed=seed)
    return cart_catalog_from_sample(catalog), list(trip.events)


def _seen(fake: FakeAdService) -> tuple[Requests, Facts]:
    requests = [
        (int(r.trigger), r.zone_id, r.scanned_product_id, tuple((i.product_id, i.quantity) for i in r.basket))
        for r in fake.get_ads_requests
    ]
    facts = [(int(e.type), e.product_id) for e in fake.journal.values() if e.type in BASKET]
    return requests, facts


async def _run(fake: FakeAdService, catalog: CartCatalog, events: object, topics: CartTopics) -> None:
    await run_trip(
        fake,
        store_id=topics.store_id,
        cart_id=topics.cart_id,
        session_id="trip-1",
        events=events,  # type: ignore[arg-type]
        render=lambda _line: None,
        catalog=catalog,
    )


async def _over_bus(
    config: BusConfig, topics: CartTopics, catalog: CartCatalog, published: Sequence[SensorEvent]
) -> FakeAdService:
    fake = FakeAdService()
    async with MqttSensorFeed(topics, config) as feed, BusPublisher(topics, config) as publisher:
        await feed.wait_connected()
        publishing = asyncio.create_task(publish_trip(publisher, published))
        await asyncio.wait_for(_run(fake, catalog, feed.events(), topics), 60)
        await publishing
    return fake


@pytest.mark.parametrize("seed", [3, 11])
async def test_a_trip_on_the_bus_gives_the_same_basket_and_ad_requests(
    sample: tuple[Catalog, list[Order]], topics: CartTopics, seed: int
) -> None:
    """A noisy bus replay of a trip (raw scale stream, printed symbols) equals its JSON Lines replay."""
    require_shared_broker()
    catalog, events = _trip(sample, seed)
    from_lines = FakeAdService()
    await _run(from_lines, catalog, events, topics)
    published = bus_events(events, catalog, random.Random(seed))
    from_bus = await _over_bus(BusConfig(port=SHARED_PORT), topics, catalog, published)
    requests, facts = _seen(from_bus)
    assert (requests, facts) == _seen(from_lines)
    assert any(kind == common_pb2.EVENT_TYPE_BASKET_ADD for kind, _ in facts)


async def test_a_broker_restart_mid_trip_loses_no_confirmed_basket_fact(
    sample: tuple[Catalog, list[Order]], topics: CartTopics, own_broker: OwnBroker
) -> None:
    """Facts confirmed before the broker restarts stay, and the trip ends with the JSON Lines basket."""
    catalog, events = _trip(sample, 5)
    from_lines = FakeAdService()
    await _run(from_lines, catalog, events, topics)
    published = bus_events(events, catalog, random.Random(5))
    weights = [i for i, e in enumerate(events) if isinstance(e, Weight)]
    assert len(weights) >= 2, "the trip must put several items in the basket"
    # Split the published stream half-way through the trip's weight changes.
    split_ms = events[weights[len(weights) // 2]].t_ms or 0
    first = [e for e in published if (e.t_ms or 0) < split_ms]
    rest = published[len(first) :]
    config = BusConfig(port=own_broker.port, reconnect_initial_s=0.05, reconnect_max_s=0.5)
    fake = FakeAdService()
    async with MqttSensorFeed(topics, config) as feed, BusPublisher(topics, config) as publisher:
        await feed.wait_connected()
        trip = asyncio.create_task(_run(fake, catalog, feed.events(), topics))
        for event in first:
            await publisher.publish(event)
        await eventually(lambda: feed.stats.messages >= len(first) and feed.pending == 0, timeout_s=20)
        _, confirmed = _seen(fake)
        assert confirmed, "some basket facts are confirmed before the restart"
        await own_broker.restart()
        await publish_trip(publisher, rest)
        await asyncio.wait_for(trip, 60)
    requests, facts = _seen(fake)
    assert facts[: len(confirmed)] == confirmed
    assert (requests, facts) == _seen(from_lines)
    assert feed.stats.disconnects >= 1
