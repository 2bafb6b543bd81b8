"""The sensor bus's topics and payloads (documented in docs/SENSORS.md).

Each cart has a topic tree ``{prefix}/{store_id}/{cart_id}/{sensor}`` with ``prefix`` ``cartads/v1``
by default and one topic per sensor: ``scanner`` (raw symbols), ``scale`` (raw load-cell readings),
``vision`` (camera detections), ``location`` (the zone, published retained so a cart that connects
learns where it is at once) and ``touch`` (the screen; the ``checkout`` button ends the trip). A
payload is one UTF-8 JSON object with the fields of the JSON Lines trace for that sensor, an
optional ``t_ms`` and an optional ``seq``: a publisher's counter, increasing per topic, by which a
message delivered twice (MQTT QoS 1 is at least once) is applied once.

Pure: bytes in, a sensor event or the reason it is malformed out.
"""

from __future__ import annotations

import enum
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from cart_client.sensors.trace import (
    Checkout,
    ScaleReading,
    Scan,
    SensorEvent,
    Touch,
    Vision,
    Weight,
    Zone,
    event_to_json,
    parse_event,
)

DEFAULT_PREFIX = "cartads/v1"
CHECKOUT_BUTTON = "checkout"
# How many recent sequence numbers per topic are remembered to drop redeliveries.
SEQ_MEMORY = 1024


class Sensor(enum.StrEnum):
    """The last level of a cart's topic tree."""

    SCANNER = "scanner"
    SCALE = "scale"
    VISION = "vision"
    LOCATION = "location"
    TOUCH = "touch"


_TRACE_TYPE = {
    Sensor.SCANNER: "scan",
    Sensor.SCALE: "scale",
    Sensor.VISION: "vision",
    Sensor.LOCATION: "zone",
    Sensor.TOUCH: "touch",
}


@dataclass(frozen=True, slots=True)
class CartTopics:
    """The topic tree of one cart."""

    store_id: str
    cart_id: str
    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        for name, value in (("store_id", self.store_id), ("cart_id", self.cart_id)):
            if not value or any(c in value for c in "/+#") or "\x00" in value:
                raise ValueError(f"{name} {value!r} cannot be a topic level (empty, or holds / + # or NUL)")

    @property
    def root(self) -> str:
        """The cart's tree, without a trailing slash."""
        return f"{self.prefix}/{self.store_id}/{self.cart_id}"

    @property
    def wildcard(self) -> str:
        """What the cart subscribes to: every sensor of its tree."""
        return f"{self.root}/+"

    def topic(self, sensor: Sensor) -> str:
        """One sensor's topic."""
        return f"{self.root}/{sensor}"

    def sensor_of(self, topic: str) -> Sensor | None:
        """Which sensor a topic of this tree is, or None for a topic outside it or an unknown sensor."""
        head, _, last = topic.rpartition("/")
        if head != self.root:
            return None
        try:
            return Sensor(last)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class BusError:
    """A message the cart skipped, and why."""

    topic: str
    message: str


class _MalformedError(ValueError):
    """Internal: why one payload is malformed."""


def _payload_object(payload: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _MalformedError("payload is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise _MalformedError(f"payload is not valid JSON: {exc.msg}") from exc
    if not isinstance(obj, dict):
        raise _MalformedError(f"payload must be a JSON object, got {type(obj).__name__}")
    return obj


def _seq(obj: dict[str, Any]) -> int | None:
    seq = obj.get("seq")
    if seq is None:
        return None
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise _MalformedError("field 'seq' must be a non-negative integer")
    return seq


def decode_message(sensor: Sensor, payload: bytes) -> tuple[SensorEvent, int | None]:
    """The event a sensor's payload carries and its ``seq``; raises ValueError saying what is wrong."""
    obj = _payload_object(payload)
    if "type" in obj and obj["type"] != _TRACE_TYPE[sensor]:
        raise _MalformedError(f"a {sensor} message cannot carry type {obj['type']!r}")
    if sensor is Sensor.SCANNER and "code" not in obj:
        raise _MalformedError("a scanner message needs 'code' (the raw symbol)")
    seq = _seq(obj)
    fields = {k: v for k, v in obj.items() if k != "seq"}
    event = parse_event({**fields, "type": _TRACE_TYPE[sensor]})
    if isinstance(event, Touch) and event.button == CHECKOUT_BUTTON:
        return Checkout(event.t_ms), seq
    return event, seq


def sensor_for(event: SensorEvent) -> Sensor:
    """The sensor whose topic carries ``event``; raises ValueError for what the bus does not carry."""
    match event:
        case Scan(code=code) if code:
            return Sensor.SCANNER
        case Scan():
            raise ValueError("a scanner sends the symbol it read: a scan needs its code to go on the bus")
        case Weight():
            raise ValueError("the bus carries the scale's raw readings, not weight changes")
        case ScaleReading():
            return Sensor.SCALE
        case Vision():
            return Sensor.VISION
        case Zone():
            return Sensor.LOCATION
        case Touch() | Checkout():
            return Sensor.TOUCH


def encode_event(event: SensorEvent, seq: int | None = None) -> tuple[Sensor, bytes]:
    """The sensor topic and payload that carry ``event``; a checkout is the touch screen's button."""
    sensor = sensor_for(event)
    obj: dict[str, object] = dict(event_to_json(event))
    if isinstance(event, Checkout):
        obj = {"button": CHECKOUT_BUTTON, **({"t_ms": event.t_ms} if event.t_ms is not None else {})}
    obj.pop("type", None)
    if isinstance(event, Scan):
        obj.pop("product_id", None)
    if seq is not None:
        obj["seq"] = seq
    return sensor, json.dumps(obj, separators=(",", ":")).encode()


class Deduplicator:
    """Remembers the recent ``seq`` of each sensor, so a redelivered message is applied once."""

    def __init__(self, memory: int = SEQ_MEMORY) -> None:
        self._memory = memory
        self._seen: dict[Sensor, tuple[deque[int], set[int]]] = {}

    def first_time(self, sensor: Sensor, seq: int | None) -> bool:
        """Whether this message is new (messages without a ``seq`` always are)."""
        if seq is None:
            return True
        order, seen = self._seen.setdefault(sensor, (deque(), set()))
        if seq in seen:
            return False
        order.append(seq)
        seen.add(seq)
        if len(order) > self._memory:
            seen.discard(order.popleft())
        return True


class BusDecoder:
    """One cart's view of the bus: topic and payload in, a new event, a duplicate (None) or an error out."""

    def __init__(self, topics: CartTopics) -> None:
        self.topics = topics
        self._dedupe = Deduplicator()
        self.duplicates = 0

    def decode(self, topic: str, payload: bytes) -> SensorEvent | BusError | None:
        """The event of one message; None for a redelivered one; BusError for one to report and skip."""
        sensor = self.topics.sensor_of(topic)
        if sensor is None:
            return BusError(topic, "not a sensor topic of this cart")
        if not payload and sensor is Sensor.LOCATION:
            # An empty retained location is the daemon clearing it (the trip ended): nothing to apply.
            return None
        try:
            event, seq = decode_message(sensor, payload)
        except ValueError as exc:
            return BusError(topic, str(exc))
        if not self._dedupe.first_time(sensor, seq):
            self.duplicates += 1
            return None
        return event


__all__ = [
    "CHECKOUT_BUTTON",
    "DEFAULT_PREFIX",
    "BusDecoder",
    "BusError",
    "CartTopics",
    "Deduplicator",
    "Sensor",
    "decode_message",
    "encode_event",
    "sensor_for",
]
