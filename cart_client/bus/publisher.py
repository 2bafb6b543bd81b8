"""Publishing sensor events on the bus, as a cart's sensor daemons (and ``cartads-sim``) do.

Every message is published at QoS 1 and awaited until the broker acknowledges it; when the broker
is away the publisher reconnects with backoff and publishes the same message again, with the same
``seq``, so the cart applies it once even if the first attempt did reach it. The location is
published retained: a cart that (re)connects learns its zone at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import aiomqtt
import structlog

from cart_client.bus.mqtt import BusConfig
from cart_client.bus.topics import CartTopics, Sensor, encode_event, sensor_for
from cart_client.sensors.trace import SensorEvent

_log = structlog.get_logger("cart_client.bus.publisher")


@dataclass(slots=True)
class PublisherStats:
    """Messages acknowledged by the broker, retries, and connections made."""

    published: int = 0
    retries: int = 0
    connections: int = 0
    by_sensor: dict[str, int] = field(default_factory=dict)


class BusPublisher:
    """One cart's sensor daemons on the bus: ``async with`` it, then ``publish`` events in order."""

    def __init__(self, topics: CartTopics, config: BusConfig | None = None, *, identifier: str = "") -> None:
        self.topics = topics
        self.config = config or BusConfig(prefix=topics.prefix)
        self._identifier = identifier or f"cartads-sensors:{topics.root}"
        self._seq = {sensor: itertools.count() for sensor in Sensor}
        self._stack: AsyncExitStack | None = None
        self._client: aiomqtt.Client | None = None
        self.stats = PublisherStats()

    async def __aenter__(self) -> BusPublisher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._drop()

    async def publish(self, event: SensorEvent) -> None:
        """Publish ``event`` on its sensor's topic; returns once the broker has acknowledged it."""
        sensor, payload = encode_event(event, seq=next(self._seq[sensor_for(event)]))
        delay_s = self.config.reconnect_initial_s
        while True:
            try:
                client = await self._connected()
                await client.publish(self.topics.topic(sensor), payload, qos=1, retain=sensor is Sensor.LOCATION)
                break
            except aiomqtt.MqttError as exc:
                self.stats.retries += 1
                _log.warning("sensor_publish_retry", topic=self.topics.topic(sensor), error=str(exc))
                await self._drop()
                # The broker is away: waiting is the only thing to do before trying again.
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, self.config.reconnect_max_s)
        self.stats.published += 1
        self.stats.by_sensor[sensor] = self.stats.by_sensor.get(sensor, 0) + 1

    async def clear_location(self) -> None:
        """Remove the retained location, so the cart's next trip does not start in this one's zone."""
        while True:
            try:
                client = await self._connected()
                await client.publish(self.topics.topic(Sensor.LOCATION), b"", qos=1, retain=True)
                return
            except aiomqtt.MqttError:
                self.stats.retries += 1
                await self._drop()
                await asyncio.sleep(self.config.reconnect_initial_s)  # the broker is away: wait, then retry

    async def _connected(self) -> aiomqtt.Client:
        if self._client is not None:
            return self._client
        stack = AsyncExitStack()
        client = aiomqtt.Client(
            self.config.host, self.config.port, identifier=self._identifier, keepalive=self.config.keepalive_s
        )
        await stack.enter_async_context(client)
        self._stack, self._client = stack, client
        self.stats.connections += 1
        return client

    async def _drop(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            # A connection that is already gone has nothing left to close cleanly.
            with contextlib.suppress(aiomqtt.MqttError):
                await stack.aclose()


__all__ = ["BusPublisher", "PublisherStats"]
