"""Conversions between protobuf Timestamps, datetimes and integer microseconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp


def now_us() -> int:
    """Wall-clock time in microseconds since the epoch."""
    return time.time_ns() // 1000


def ts_to_us(ts: Timestamp) -> int:
    """A protobuf Timestamp as integer microseconds since the epoch."""
    return ts.seconds * 1_000_000 + ts.nanos // 1000


def us_to_ts(us: int) -> Timestamp:
    """Integer microseconds since the epoch as a protobuf Timestamp."""
    seconds, micros = divmod(us, 1_000_000)
    return Timestamp(seconds=seconds, nanos=micros * 1000)


def dt_to_us(dt: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch."""
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def dt_to_ts(dt: datetime) -> Timestamp:
    """An aware datetime as a protobuf Timestamp."""
    return us_to_ts(dt_to_us(dt))


US_PER_MS = 1_000
US_PER_S = 1_000_000
HOUR_US = 3600 * US_PER_S
DAY_US = 24 * HOUR_US


def hour_start_us(time_us: int) -> int:
    """The start of the UTC hour ``time_us`` falls in: the key of every hourly rollup."""
    return time_us - time_us % HOUR_US


def day_start_us(time_us: int) -> int:
    """The start of the UTC day ``time_us`` falls in."""
    return time_us - time_us % DAY_US
