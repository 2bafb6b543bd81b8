"""The cart's subscriber to its sensor bus: MQTT through aiomqtt, reconnecting for as long as the trip lasts.

The cart subscribes at QoS 1 to its topic tree with a persistent session (client id
``cartads-cart:{its tree}`` and no clean session), so a broker that stays up keeps the messages
published while the cart was away.
When the connection drops, or the broker is not up yet, the cart reconnects with exponential backoff
and subscribes again; the broker then sends the retained ``location`` again, which the trip
ignores as the zone it is already in (or drops by its ``seq``). A malformed message is reported to
``on_error`` and skipped: a glitching daemon never ends the trip.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiomqtt
import structlog

from cart_client.bus.topics import DEFAULT_PREFIX, BusDecoder, BusError, CartTopics
from cart_client.sensors.trace import Checkout, SensorEvent

_log = structlog.get_logger("cart_client.bus")

BusErrorSink = Callable[[BusError], None]


def log_bus_error(error: BusError) -> None:
    """The default sink: one warning per skipped message."""
    _log.warning("bus_message_skipped", topic=error.topic, error=error.message)


@dataclass(frozen=True, slots=True)
class BusConfig:
    """Where the broker is and how patiently the cart reconnects to it."""

    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = DEFAULT_PREFIX
    keepalive_s: int = 10
    reconnect_initial_s: float = 0.1
    reconnect_max_s: float = 5.0

    @staticmethod
    def from_url(url: str) -> BusConfig:
        """``mqtt://HOST[:PORT][/PREFIX]``; the default port is 1883 and the default prefix ``cartads/v1``."""
        parts = urlsplit(url)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise ValueError(f"expected mqtt://HOST[:PORT][/PREFIX], got {url!r}")
        try:
            port = parts.port or 1883
        except ValueError as exc:
            raise ValueError(f"bad port in {url!r}") from exc
        prefix = parts.path.strip("/") or DEFAULT_PREFIX
        return BusConfig(host=parts.hostname, port=port, prefix=prefix)


@dataclass(slots=True)
class BusStats:
    """What the subscriber has seen so far."""

    connections: int = 0
    disconnects: int = 0
    failed_attempts: int = 0
    messages: int = 0
    malformed: int = 0
    duplicates: int = 0


class MqttSensorFeed:
    """One cart's sensor events from the bus: ``async with`` it, then iterate ``events()``."""

    def __init__(
        self, topics: CartTopics, config: BusConfig | None = None, on_error: BusErrorSink = log_bus_error
    ) -> None:
        self.topics = topics
        self.config = config or BusConfig(prefix=topics.prefix)
        self._on_error = on_error
        self._decoder = BusDecoder(topics)
        self._queue: asyncio.Queue[SensorEvent] = asyncio.Queue()
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stats = BusStats()

    async def __aenter__(self) -> MqttSensorFeed:
        self._task = asyncio.create_task(self._run(), name=f"sensor-bus-{self.topics.cart_id}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_connected(self) -> None:
        """Until the cart is subscribed (its retained location is then on its way)."""
        await self._connected.wait()

    @property
    def pending(self) -> int:
        """Events received and not yet taken by ``events()``."""
        return self._queue.qsize()

    @property
    def connected(self) -> bool:
        """Whether the cart is subscribed now."""
        return self._connected.is_set()

    async def events(self) -> AsyncIterator[SensorEvent]:
        """Every sensor event in arrival order, up to and including a checkout."""
        while True:
            event = await self._queue.get()
            yield event
            if isinstance(event, Checkout):
                return

    async def _run(self) -> None:
        delay_s = self.config.reconnect_initial_s
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                if not self._connected.is_set():
                    self.stats.failed_attempts += 1
                _log.warning("sensor_bus_unreachable", broker=f"{self.config.host}:{self.config.port}", error=str(exc))
            if self._connected.is_set():
                # A session that was up and dropped: try again soon, then back off if the broker stays away.
                self.stats.disconnects += 1
                delay_s = self.config.reconnect_initial_s
                self._connected.clear()
            # Nothing to await for a broker that is down: the backoff itself is the point.
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, self.config.reconnect_max_s)

    async def _session(self) -> None:
        client = aiomqtt.Client(
            self.config.host,
            self.config.port,
            # The tree names the cart: two buses (prefixes) on one broker are two sessions.
            identifier=f"cartads-cart:{self.topics.root}",
            clean_session=False,
            keepalive=self.config.keepalive_s,
        )
        async with client:
            await client.subscribe(self.topics.wildcard, qos=1)
            self.stats.connections += 1
            self._connected.set()
            _log.info("sensor_bus_subscribed", topics=self.topics.wildcard, connections=self.stats.connections)
            async for message in client.messages:
                self._receive(str(message.topic), message.payload)

    def _receive(self, topic: str, payload: object) -> None:
        self.stats.messages += 1
        data = payload if isinstance(payload, bytes) else b"" if payload is None else str(payload).encode()
        decoded = self._decoder.decode(topic, data)
        self.stats.duplicates = self._decoder.duplicates
        if decoded is None:
            return
        if isinstance(decoded, BusError):
            self.stats.malformed += 1
            self._on_error(decoded)
        else:
            self._queue.put_nowait(decoded)


__all__ = ["BusConfig", "BusErrorSink", "BusStats", "MqttSensorFeed", "log_bus_error"]
