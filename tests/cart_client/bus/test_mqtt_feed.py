"""The cart's subscriber against a real Mosquitto: order, retained location, bad payloads, reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiomqtt

from cart_client.bus.mqtt import BusConfig, MqttSensorFeed
from cart_client.bus.publisher import BusPublisher
from cart_client.bus.topics import BusError, CartTopics, Sensor
from cart_client.sensors.trace import Checkout, ScaleReading, Scan, SensorEvent, Touch, Zone
from tests.cart_client.bus.brokers import SHARED_PORT, OwnBroker, require_shared_broker
from tests.eventually import eventually

FAST = BusConfig(reconnect_initial_s=0.05, reconnect_max_s=0.5)


def _config(port: int = SHARED_PORT) -> BusConfig:
    return BusConfig(port=port, reconnect_initial_s=FAST.reconnect_initial_s, reconnect_max_s=FAST.reconnect_max_s)


async def _all(feed: MqttSensorFeed) -> list[SensorEvent]:
    return await _all_from(feed.events())


async def _all_from(events: AsyncIterator[SensorEvent]) -> list[SensorEvent]:
    return [event async for event in events]


async def test_published_events_arrive_in_order_until_checkout(topics: CartTopics) -> None:
    """Every sensor's events reach the cart in the order the daemons published them, ending at checkout."""
    require_shared_broker()
    trip: list[SensorEvent] = [
        Zone("zone-1", 0),
        Scan("", 10, code="036000241457"),
        ScaleReading(360.4, 20),
        Touch("slot-0", 30),
        Checkout(40),
    ]
    async with MqttSensorFeed(topics, _config()) as feed:
        await feed.wait_connected()
        async with BusPublisher(topics, _config()) as publisher:
            for event in trip:
                await publisher.publish(event)
        assert await asyncio.wait_for(_all(feed), 10) == trip


async def test_the_retained_location_arrives_on_connect(topics: CartTopics) -> None:
    """A cart that subscribes after the location daemon published learns its zone at once."""
    require_shared_broker()
    async with BusPublisher(topics, _config()) as publisher:
        await publisher.publish(Zone("zone-9", 5))
    async with MqttSensorFeed(topics, _config()) as feed:
        events = feed.events()
        assert await asyncio.wait_for(anext(events), 10) == Zone("zone-9", 5)


async def test_a_malformed_payload_is_reported_and_skipped(topics: CartTopics) -> None:
    """Garbage on the scale topic is reported with its topic, and the trip goes on."""
    require_shared_broker()
    errors: list[BusError] = []
    async with MqttSensorFeed(topics, _config(), on_error=errors.append) as feed:
        await feed.wait_connected()
        async with aiomqtt.Client("127.0.0.1", SHARED_PORT) as raw:
            await raw.publish(topics.topic(Sensor.SCALE), b"{not json", qos=1)
            await raw.publish(topics.topic(Sensor.TOUCH), b'{"button": "checkout"}', qos=1)
        assert await asyncio.wait_for(_all(feed), 10) == [Checkout()]
    assert [e.topic for e in errors] == [topics.topic(Sensor.SCALE)]
    assert "not valid JSON" in errors[0].message
    assert feed.stats.malformed == 1


async def test_the_cart_connects_once_the_broker_comes_up(topics: CartTopics, own_broker: OwnBroker) -> None:
    """A broker that is down when the trip starts is retried with backoff until it answers."""
    await own_broker.stop()
    async with MqttSensorFeed(topics, _config(own_broker.port)) as feed:
        await eventually(lambda: feed.stats.failed_attempts >= 3, what="three attempts failed")
        assert not feed.connected
        await own_broker.start()
        await asyncio.wait_for(feed.wait_connected(), 10)
        async with BusPublisher(topics, _config(own_broker.port)) as publisher:
            await publisher.publish(Checkout(1))
        assert await asyncio.wait_for(_all(feed), 10) == [Checkout(1)]


async def test_a_broker_restart_is_survived_by_resubscribing(topics: CartTopics, own_broker: OwnBroker) -> None:
    """After the broker restarts the cart reconnects, subscribes again and receives what follows."""
    config = _config(own_broker.port)
    async with MqttSensorFeed(topics, config) as feed, BusPublisher(topics, config) as publisher:
        await feed.wait_connected()
        events = feed.events()
        await publisher.publish(Zone("zone-1", 1))
        assert await asyncio.wait_for(anext(events), 10) == Zone("zone-1", 1)
        await own_broker.restart()
        await publisher.publish(Scan("", 2, code="036000241457"))
        await publisher.publish(Checkout(3))
        rest = await asyncio.wait_for(_all_from(events), 20)
    # The retained location comes again on resubscribing; its seq marks it as already applied.
    assert rest == [Scan("", 2, code="036000241457"), Checkout(3)]
    assert feed.stats.connections >= 2
    assert feed.stats.disconnects >= 1
