"""The NCI scale protocol (Avery Weigh-Tronix "NCI Standard", SCP-01), the one this cart's scale speaks.

The cart asks, the scale answers; every answer ends with ETX:

| request  | answer                                   | meaning                          |
|----------|------------------------------------------|----------------------------------|
| ``W<CR>``| ``<LF>xxxx.xxUU<CR><LF>hh<CR><ETX>``     | weight with its unit, and status |
| ``S<CR>``| ``<LF>hh<CR><ETX>``                      | status only                      |
| ``Z<CR>``| ``<LF>hh<CR><ETX>``                      | zero the scale, then status      |
| other    | ``<LF>?<CR><ETX>``                       | unrecognised command             |

``UU`` is ``lb``, ``kg``, ``oz`` or ``g``; the weight may carry a minus sign. ``hh`` is two (or three)
status bytes whose bits 4 and 5 are always set (so they print as ``0``-``?``), bit 7 is parity:

* byte 1: bit 0 in motion, bit 1 at zero, bit 2 RAM error, bit 3 EEPROM error;
* byte 2: bit 0 under capacity, bit 1 over capacity, bit 2 ROM error, bit 3 faulty calibration,
  bit 6 set when a third byte follows;
* byte 3: bits 0-1 range, bit 2 net weight (else gross), bit 3 initial zero error.

When the scale cannot weigh (over or under capacity) its weight field holds no number. Pure codec:
bytes in, values out, and the inverse for a test peer or a simulated scale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WEIGH = b"W\r"
STATUS = b"S\r"
ZERO = b"Z\r"
ETX = b"\x03"

GRAMS_PER_UNIT = {"g": 1.0, "kg": 1000.0, "lb": 453.59237, "oz": 28.349523125}
_FRAME = re.compile(rb"^\n(?:(?P<weight>[^\r\n]*)\r\n)?(?P<status>[^\r\n]*)\r\x03$")
_WEIGHT = re.compile(r"^\s*(?P<sign>-?)\s*(?P<value>\d+(?:\.\d*)?)\s*(?P<unit>lb|kg|oz|g)\s*$")
_ALWAYS = 0x30
_FAULTS = ("ram_error", "eeprom_error", "rom_error", "calibration_error", "over_capacity", "under_capacity")


class NciError(ValueError):
    """An answer that is not a valid NCI frame, or the scale refusing the command."""


@dataclass(frozen=True, slots=True)
class NciStatus:
    """The scale's status bits."""

    motion: bool = False
    at_zero: bool = False
    ram_error: bool = False
    eeprom_error: bool = False
    under_capacity: bool = False
    over_capacity: bool = False
    rom_error: bool = False
    calibration_error: bool = False
    net: bool = False

    @property
    def fault(self) -> str:
        """Why the scale cannot be trusted now, or "" when it can."""
        return ", ".join(name.replace("_", " ") for name in _FAULTS if getattr(self, name))


@dataclass(frozen=True, slots=True)
class NciAnswer:
    """One answer: the weight in grams (None for a status-only answer or when it cannot weigh) and status."""

    status: NciStatus
    weight_g: float | None = None
    unit: str = ""


def _status(raw: bytes) -> NciStatus:
    if len(raw) not in (2, 3) or any(b & _ALWAYS != _ALWAYS for b in raw) or raw[0] & 0x40:
        raise NciError(f"bad status bytes {raw!r}")
    if bool(raw[1] & 0x40) != (len(raw) == 3):
        raise NciError(f"status bytes {raw!r}: the second byte's 'byte follows' bit disagrees with their count")
    first, second = raw[0], raw[1]
    third = raw[2] if len(raw) == 3 else _ALWAYS
    return NciStatus(
        motion=bool(first & 1),
        at_zero=bool(first & 2),
        ram_error=bool(first & 4),
        eeprom_error=bool(first & 8),
        under_capacity=bool(second & 1),
        over_capacity=bool(second & 2),
        rom_error=bool(second & 4),
        calibration_error=bool(second & 8),
        net=bool(third & 4),
    )


def parse_answer(frame: bytes) -> NciAnswer:
    """One answer up to and including its ETX; raises NciError saying what is wrong."""
    data = bytes(b & 0x7F for b in frame)  # bit 7 is parity on a 7-bit line
    if data == b"\n?\r\x03":
        raise NciError("the scale did not recognise the command")
    match = _FRAME.match(data)
    if match is None:
        raise NciError(f"not an NCI answer: {frame!r}")
    status = _status(match.group("status"))
    weight = match.group("weight")
    if weight is None:
        return NciAnswer(status)
    parsed = _WEIGHT.match(weight.decode("ascii", errors="replace"))
    if parsed is None:
        if status.over_capacity or status.under_capacity:
            return NciAnswer(status)
        raise NciError(f"unreadable weight field {weight!r}")
    grams = float(parsed.group("value")) * GRAMS_PER_UNIT[parsed.group("unit")]
    return NciAnswer(status, -grams if parsed.group("sign") else grams, parsed.group("unit"))


def encode_status(status: NciStatus) -> bytes:
    """The two status bytes of ``status`` (a third when it is a net weight)."""
    first = _ALWAYS | status.motion | status.at_zero << 1 | status.ram_error << 2 | status.eeprom_error << 3
    second = (
        _ALWAYS
        | status.under_capacity
        | status.over_capacity << 1
        | status.rom_error << 2
        | status.calibration_error << 3
    )
    if not status.net:
        return bytes([first, second])
    return bytes([first, second | 0x40, _ALWAYS | 4])


def encode_answer(status: NciStatus, weight: float | None = None, unit: str = "kg") -> bytes:
    """An answer as a scale sends it: with a weight for W (``weight`` in ``unit``), else status only."""
    if weight is None:
        return b"\n" + encode_status(status) + b"\r" + ETX
    decimals = {"g": 0, "kg": 3, "lb": 2, "oz": 1}[unit]
    field = b"^^^^^^" if status.over_capacity else f"{weight:{8 if decimals else 6}.{decimals}f}{unit}".encode()
    return b"\n" + field + b"\r\n" + encode_status(status) + b"\r" + ETX


__all__ = [
    "ETX",
    "GRAMS_PER_UNIT",
    "STATUS",
    "WEIGH",
    "ZERO",
    "NciAnswer",
    "NciError",
    "NciStatus",
    "encode_answer",
    "encode_status",
    "parse_answer",
]
