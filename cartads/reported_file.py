"""The reported-events file: what carts had the edge acknowledge, per cart, for a reconciliation with
what the cloud billed. ``cartads-sim --replay ... --reported FILE`` writes it, ``cartads-admin billing
reconcile --reported FILE`` reads it::

    {"store_id": "store-1", "start_time": "2026-12-07T18:00:00Z",
     "carts": {"sim-cart-000": {"impressions": 12, "clicks": 2, "events": 40}, ...}}

``events`` counts every event the cart reported (impressions, clicks, basket changes, checkouts);
``start_time`` is when the carts started, so the cloud counts only events received since.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

# Far beyond any fleet a reconciliation covers: a bigger file is not a reported-events file.
MAX_FILE_BYTES = 16 * 1024 * 1024
COUNTS = ("impressions", "clicks", "events")


class ReportedFileError(ValueError):
    """The file is not a reported-events file; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class CartReported:
    """What one cart had acknowledged: impressions, clicks, and every event."""

    impressions: int = 0
    clicks: int = 0
    events: int = 0

    def __add__(self, other: CartReported) -> CartReported:
        return CartReported(
            self.impressions + other.impressions, self.clicks + other.clicks, self.events + other.events
        )


@dataclass(frozen=True, slots=True)
class ReportedEvents:
    """One run's reported events, per cart of one store."""

    store_id: str
    start_time: datetime
    carts: Mapping[str, CartReported]

    def total(self) -> CartReported:
        """Every cart's counts added up."""
        return sum(self.carts.values(), CartReported())

    def to_json(self) -> str:
        """The file's text."""
        body = {
            "store_id": self.store_id,
            "start_time": self.start_time.isoformat().replace("+00:00", "Z"),
            "carts": {cart_id: {k: getattr(c, k) for k in COUNTS} for cart_id, c in sorted(self.carts.items())},
        }
        return json.dumps(body, indent=1, sort_keys=True) + "\n"


def _count(value: Any, where: str) -> int:
    if type(value) is not int or value < 0:
        raise ReportedFileError(f"{where} must be a whole number >= 0")
    return value


def parse_reported(text: str) -> ReportedEvents:
    """The file's contents, checked; ReportedFileError naming what is wrong."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportedFileError(f"not JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(body, dict) or not isinstance(body.get("carts"), dict):
        raise ReportedFileError('expected an object with "store_id", "start_time" and "carts"')
    store_id = body.get("store_id")
    if not isinstance(store_id, str) or not store_id:
        raise ReportedFileError('"store_id" must be a non-empty string')
    try:
        start = datetime.fromisoformat(str(body.get("start_time")))
    except ValueError as exc:
        raise ReportedFileError('"start_time" must be an ISO 8601 time') from exc
    if start.tzinfo is None:
        raise ReportedFileError('"start_time" must carry its zone (e.g. Z)')
    carts: dict[str, CartReported] = {}
    for cart_id, counts in body["carts"].items():
        if not isinstance(counts, dict):
            raise ReportedFileError(f"carts.{cart_id} must be an object of counts")
        carts[cart_id] = CartReported(*(_count(counts.get(k, 0), f"carts.{cart_id}.{k}") for k in COUNTS))
    return ReportedEvents(store_id, start, carts)


def read_reported(path: Path) -> ReportedEvents:
    """The reported-events file at ``path``; OSError when unreadable, ReportedFileError when not one."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ReportedFileError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return parse_reported(path.read_text(encoding="utf-8"))
    except ReportedFileError as exc:
        raise ReportedFileError(f"{path}: {exc}") from None


__all__ = ["CartReported", "ReportedEvents", "ReportedFileError", "parse_reported", "read_reported"]
