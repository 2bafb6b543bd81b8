"""GS1 element strings, as GS1-128 and GS1 DataBar carry them: application identifiers (AIs) and
their values, e.g. ``(01)09501101530003(3103)000250(3922)0499`` in print, or ``0109501101530003
3103000250`` + ``<GS>`` + ... as a scanner transmits it (FNC1 becomes the ASCII group separator).

The AIs a cart needs are read: 01 (GTIN), 310n and 320n (net weight in kg or lb, n decimals), 392n
(price payable, n decimals) and 393n (the same with an ISO 4217 currency). The other common AIs
(dates, batch, serial...) are parsed so the string can be walked, and otherwise ignored. An AI this
table does not know is an error: without its length the rest of the string cannot be read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GROUP_SEPARATOR = "\x1d"

# AI -> (fixed data length, or None for a variable length ending at <GS> or the end; maximum length).
_FIXED: dict[str, int] = {"00": 18, "01": 14, "02": 14, "11": 6, "12": 6, "13": 6, "15": 6, "16": 6, "17": 6, "20": 2}
_VARIABLE: dict[str, int] = {
    "10": 20, "21": 20, "22": 20, "30": 8, "37": 8,
    "240": 30, "241": 30, "250": 30, "251": 30, "400": 30, "422": 3, "8008": 12,
    **{str(n): 90 if n == 90 else 30 for n in range(90, 100)},
}  # fmt: skip
# 4-digit AIs with the decimal position as their last digit: 31nn-36nn measures (6 digits), 39nn amounts.
_MEASURE_FAMILIES = tuple(str(n) for n in range(310, 370))
_AMOUNT_MAX = {"390": 15, "391": 18, "392": 15, "393": 18}

_LB_G = 453.59237
_PRINTED = re.compile(r"\((\d{2,4})\)([^()]*)")


class ElementStringError(ValueError):
    """A malformed element string; the message names the AI or position."""


@dataclass(frozen=True, slots=True)
class ElementString:
    """What a GS1 element string says; ``fields`` keeps every AI and its value, in order."""

    fields: tuple[tuple[str, str], ...]

    def get(self, ai: str) -> str | None:
        """The value of ``ai``, or None."""
        return next((value for key, value in self.fields if key == ai), None)

    def first_with_prefix(self, prefix: str) -> tuple[str, str] | None:
        """The first (AI, value) whose AI starts with ``prefix`` (``"310"`` finds 3100..3109)."""
        return next(((key, value) for key, value in self.fields if key.startswith(prefix)), None)

    def net_weight_g(self) -> float | None:
        """The net weight in grams from AI 310n (kg) or 320n (lb), or None."""
        for prefix, grams_per_unit in (("310", 1000.0), ("320", _LB_G)):
            found = self.first_with_prefix(prefix)
            if found is not None:
                ai, value = found
                return float(int(value)) / 10.0 ** int(ai[3]) * grams_per_unit
        return None

    def price_micros(self) -> tuple[int, str] | None:
        """(price in micros of the currency, ISO 4217 numeric code or "") from AI 392n or 393n, or None."""
        found = self.first_with_prefix("392") or self.first_with_prefix("393")
        if found is None:
            return None
        ai, value = found
        currency = ""
        if ai.startswith("393"):
            currency, value = value[:3], value[3:]
        decimals = int(ai[3])
        return int(value) * 10**6 // 10**decimals, currency


def _ai_at(text: str, pos: int) -> tuple[str, int | None, int]:
    """The AI starting at ``pos``: (ai, fixed length or None, maximum length)."""
    for size in (2, 3, 4):
        ai = text[pos : pos + size]
        if ai in _FIXED:
            return ai, _FIXED[ai], _FIXED[ai]
        if ai in _VARIABLE:
            return ai, None, _VARIABLE[ai]
    ai = text[pos : pos + 4]
    if len(ai) == 4 and ai.isdigit():
        if ai[:3] in _MEASURE_FAMILIES:
            return ai, 6, 6
        if ai[:3] in _AMOUNT_MAX:
            return ai, None, _AMOUNT_MAX[ai[:3]]
    raise ElementStringError(f"unknown application identifier at position {pos}: {text[pos : pos + 4]!r}")


def _check_value(ai: str, value: str, fixed: int | None, maximum: int) -> None:
    if fixed is not None and len(value) != fixed:
        raise ElementStringError(f"AI ({ai}) needs {fixed} characters, got {len(value)}")
    if not value or len(value) > maximum:
        raise ElementStringError(f"AI ({ai}) holds 1 to {maximum} characters, got {len(value)}")
    numeric = ai in _FIXED or ai[:3] in _MEASURE_FAMILIES or ai[:3] in _AMOUNT_MAX or ai in ("30", "37", "422", "8008")
    if numeric and not value.isdigit():
        raise ElementStringError(f"AI ({ai}) is numeric, got {value!r}")


def parse_transmitted(data: str) -> ElementString:
    """An element string as a scanner sends it: AIs run together, <GS> after variable-length fields."""
    fields: list[tuple[str, str]] = []
    pos = 0
    data = data.lstrip(GROUP_SEPARATOR)  # a leading FNC1 is the symbol's GS1 flag, not a separator
    while pos < len(data):
        ai, fixed, maximum = _ai_at(data, pos)
        pos += len(ai)
        if fixed is not None:
            value = data[pos : pos + fixed]
            pos += fixed
        else:
            end = data.find(GROUP_SEPARATOR, pos)
            end = len(data) if end < 0 else end
            value = data[pos:end]
            pos = end
        _check_value(ai, value, fixed, maximum)
        fields.append((ai, value))
        if pos < len(data) and data[pos] == GROUP_SEPARATOR:
            pos += 1
    if not fields:
        raise ElementStringError("empty element string")
    return ElementString(tuple(fields))


def parse_printed(text: str) -> ElementString:
    """An element string in its human-readable form, each AI in parentheses."""
    fields: list[tuple[str, str]] = []
    pos = 0
    for match in _PRINTED.finditer(text):
        if match.start() != pos:
            raise ElementStringError(f"unexpected text at position {pos}: {text[pos : match.start()]!r}")
        ai, value = match.group(1), match.group(2)
        found, fixed, maximum = _ai_at(ai + value, 0)
        if found != ai:
            raise ElementStringError(f"unknown application identifier ({ai})")
        _check_value(ai, value, fixed, maximum)
        fields.append((ai, value))
        pos = match.end()
    if pos != len(text) or not fields:
        raise ElementStringError(f"not a printed element string: {text!r}")
    return ElementString(tuple(fields))


__all__ = ["GROUP_SEPARATOR", "ElementString", "ElementStringError", "parse_printed", "parse_transmitted"]
