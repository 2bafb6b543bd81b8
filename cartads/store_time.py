"""A store's time zone by name, shared by the cloud (pacing, compiling) and the edge (dayparting)."""

from __future__ import annotations

from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def store_zone(name: str) -> tzinfo:
    """The zone called ``name``; UTC when empty or unknown.

    The cloud validates zones on write, so an unknown one only comes from an older or newer tz
    database; serving and pacing must go on, so they fall back to UTC rather than fail.
    """
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
