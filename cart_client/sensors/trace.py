"""Sensor traces: what a cart's sensors saw during one trip, as JSON Lines.

One object per line, ``"type"`` one of ``scan {"product_id" and/or "code"}`` (``code`` is the
barcode the scanner read), ``weight {"delta_g"}`` (the scale's change in grams), ``scale
{"gross_g", "motion"?}`` (one raw load-cell reading, which the cart's stable-scale filter turns
into weight changes), ``vision
{"product_id", "confidence"}``, ``zone {"zone_id"}``, ``touch {"slot_id" or "button",
"propensity"?}``, ``checkout {}``, each with an optional ``"t_ms"`` (milliseconds since the trip
started). A touch with a ``propensity`` (0..1) is a moment the shopper may tap the ad in that slot:
the simulator cannot know which ad will be shown, so a simulated shopper decides at replay, against
the ad actually on screen (see ``cart_client.sim.relevance``); a real cart takes no such chance.
Sensors are noisy and files get truncated, so a bad line is reported with its line number and
skipped rather than ending the trip.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Scan:
    """The barcode scanner read a product: its id, its barcode, or both."""

    product_id: str
    t_ms: int | None = None
    code: str = ""


@dataclass(frozen=True, slots=True)
class Vision:
    """The basket camera recognised ``product_id`` with ``confidence`` in [0, 1]."""

    product_id: str
    confidence: float
    t_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Weight:
    """The basket scale changed by ``delta_g`` grams (negative when something was taken out)."""

    delta_g: float
    t_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ScaleReading:
    """One raw reading of the basket's load cell: the gross weight, and whether the device flags motion."""

    gross_g: float
    t_ms: int | None = None
    motion: bool = False


@dataclass(frozen=True, slots=True)
class Zone:
    """In-store location says the cart is now in ``zone_id``."""

    zone_id: str
    t_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Touch:
    """The shopper touched the screen: the ad slot ``slot_id`` or a ``button``.

    With a ``propensity`` it is only a chance to tap the ad in ``slot_id``, decided at replay.
    """

    slot_id: str
    t_ms: int | None = None
    button: str = ""
    propensity: float | None = None


@dataclass(frozen=True, slots=True)
class Checkout:
    """The shopper finished the trip (with the loyalty card number they scanned, if any: it stays on
    the cart, which reports only its pseudonym, cart_client/trip/loyalty.py)."""

    t_ms: int | None = None
    loyalty_number: str = ""


SensorEvent = Scan | Weight | ScaleReading | Vision | Zone | Touch | Checkout


@dataclass(frozen=True, slots=True)
class TraceError:
    """A trace line that could not be read; ``line_number`` counts from 1."""

    line_number: int
    message: str


class _BadLineError(ValueError):
    """Internal: why one line is malformed."""


def _text_field(obj: dict[str, Any], name: str) -> str:
    if name not in obj:
        raise _BadLineError(f"missing field {name!r}")
    value = obj[name]
    if not isinstance(value, str):
        raise _BadLineError(f"field {name!r} must be a string, got {type(value).__name__}")
    if not value:
        raise _BadLineError(f"field {name!r} must not be empty")
    return value


def _number_field(obj: dict[str, Any], name: str) -> float:
    if name not in obj:
        raise _BadLineError(f"missing field {name!r}")
    value = obj[name]
    # bool is an int subclass in Python, but true/false is never a weight.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadLineError(f"field {name!r} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise _BadLineError(f"field {name!r} must be finite")
    return float(value)


def _bool_field(obj: dict[str, Any], name: str) -> bool:
    value = obj.get(name, False)
    if not isinstance(value, bool):
        raise _BadLineError(f"field {name!r} must be true or false, got {type(value).__name__}")
    return value


def _optional_text(obj: dict[str, Any], name: str) -> str:
    return _text_field(obj, name) if name in obj else ""


def _unit_field(obj: dict[str, Any], name: str) -> float:
    value = _number_field(obj, name)
    if not 0.0 <= value <= 1.0:
        raise _BadLineError(f"field {name!r} must be within [0, 1], got {value}")
    return value


def _scan(obj: dict[str, Any], t_ms: int | None) -> Scan:
    product_id, code = _optional_text(obj, "product_id"), _optional_text(obj, "code")
    if not product_id and not code:
        raise _BadLineError("a scan needs 'product_id' or 'code'")
    return Scan(product_id, t_ms, code=code)


def _touch(obj: dict[str, Any], t_ms: int | None) -> Touch:
    slot_id, button = _optional_text(obj, "slot_id"), _optional_text(obj, "button")
    if bool(slot_id) == bool(button):
        raise _BadLineError("a touch needs exactly one of 'slot_id' and 'button'")
    propensity = _unit_field(obj, "propensity") if "propensity" in obj else None
    if propensity is not None and not slot_id:
        raise _BadLineError("'propensity' needs a 'slot_id'")
    return Touch(slot_id, t_ms, button=button, propensity=propensity)


def _t_ms(obj: dict[str, Any]) -> int | None:
    value = obj.get("t_ms")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _BadLineError(f"field 't_ms' must be an integer, got {type(value).__name__}")
    if value < 0:
        raise _BadLineError("field 't_ms' must not be negative")
    return value


def parse_event(obj: object) -> SensorEvent:
    """One decoded JSON value as a sensor event; raises ValueError saying what is wrong."""
    if not isinstance(obj, dict):
        raise _BadLineError(f"expected a JSON object, got {type(obj).__name__}")
    kind = obj.get("type")
    if kind is None:
        raise _BadLineError("missing field 'type'")
    t_ms = _t_ms(obj)
    if kind == "scan":
        return _scan(obj, t_ms)
    if kind == "weight":
        return Weight(_number_field(obj, "delta_g"), t_ms)
    if kind == "scale":
        return ScaleReading(_number_field(obj, "gross_g"), t_ms, motion=_bool_field(obj, "motion"))
    if kind == "vision":
        return Vision(_text_field(obj, "product_id"), _unit_field(obj, "confidence"), t_ms)
    if kind == "zone":
        return Zone(_text_field(obj, "zone_id"), t_ms)
    if kind == "touch":
        return _touch(obj, t_ms)
    if kind == "checkout":
        return Checkout(t_ms, _optional_text(obj, "loyalty_number"))
    raise _BadLineError(f"unknown event type {kind!r}")


def parse_trace_line(line: str, line_number: int) -> SensorEvent | TraceError | None:
    """One line's event, a TraceError when it is malformed, or None when it is blank."""
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return TraceError(line_number, f"not valid JSON: {exc.msg}")
    try:
        return parse_event(obj)
    except ValueError as exc:
        return TraceError(line_number, str(exc))


def parse_trace_lines(lines: Iterable[str]) -> Iterator[SensorEvent | TraceError]:
    """Each line's event, or a TraceError for a malformed line; blank lines are skipped silently."""
    for line_number, line in enumerate(lines, start=1):
        parsed = parse_trace_line(line, line_number)
        if parsed is not None:
            yield parsed


def event_to_json(event: SensorEvent) -> dict[str, object]:
    """The JSON object of one event, as parse_event reads it."""
    obj: dict[str, object]
    match event:
        case Scan(product_id=product_id, code=code):
            obj = {"type": "scan"}
            if product_id:
                obj["product_id"] = product_id
            if code:
                obj["code"] = code
        case Weight(delta_g=delta_g):
            obj = {"type": "weight", "delta_g": delta_g}
        case ScaleReading(gross_g=gross_g, motion=motion):
            obj = {"type": "scale", "gross_g": gross_g}
            if motion:
                obj["motion"] = True
        case Vision(product_id=product_id, confidence=confidence):
            obj = {"type": "vision", "product_id": product_id, "confidence": confidence}
        case Zone(zone_id=zone_id):
            obj = {"type": "zone", "zone_id": zone_id}
        case Touch(slot_id=slot_id, button=button, propensity=propensity):
            obj = {"type": "touch", "slot_id": slot_id} if slot_id else {"type": "touch", "button": button}
            if propensity is not None:
                obj["propensity"] = propensity
        case Checkout(loyalty_number=loyalty_number):
            obj = {"type": "checkout"}
            if loyalty_number:
                obj["loyalty_number"] = loyalty_number
    if event.t_ms is not None:
        obj["t_ms"] = event.t_ms
    return obj


def dump_trace(events: Iterable[SensorEvent]) -> Iterator[str]:
    """One JSON Lines line per event, without the trailing newline."""
    for event in events:
        yield json.dumps(event_to_json(event), separators=(",", ":"), ensure_ascii=False)


__all__ = [
    "Checkout",
    "ScaleReading",
    "Scan",
    "SensorEvent",
    "Touch",
    "TraceError",
    "Vision",
    "Weight",
    "Zone",
    "dump_trace",
    "event_to_json",
    "parse_event",
    "parse_trace_line",
    "parse_trace_lines",
]
