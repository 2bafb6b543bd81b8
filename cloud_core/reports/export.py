"""Report exports without I/O: one store's report request, its rows as CSV lines with days and hours
in that store's time zone, and the CSV cut into download chunks. Pure.

An export runs the report once per store, each in the store's own zone, so "day 2026-12-07" of a
Chicago store is Chicago's Dec 7 and of a Berlin store Berlin's. Without a store dimension the
stores' rows merge by their local labels: a day row sums every store's local day of that date; an
hour row keeps its UTC offset, so hours of stores in different zones stay apart.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from cartads.time_units import US_PER_S
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.reports.invalid import RULE_DIMENSION
from cloud_core.reports.metrics import Delivery
from cloud_core.reports.query import DIMENSIONS, RowKey, metrics_pb

# One download message each; well under the 4 MiB message limit.
CHUNK_BYTES = 256 * 1024

METRIC_COLUMNS = (
    "requests",
    "impressions",
    "clicks",
    "conversions",
    "spend_micros",
    "ctr",
    "conversion_rate",
    "ecpm_micros",
    "attributed_sales_micros",
    "roas",
    "invalid_events",
    "invalid_traffic_rate",
    "over_delivery_micros",
    # Purchases at checkout credited to the ads, and halo (README, "Measurement").
    "click_through_sales_units",
    "click_through_sales_micros",
    "view_through_sales_units",
    "view_through_sales_micros",
    "halo_sales_units",
    "halo_sales_micros",
)

_DIMENSION_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "campaign": ("campaign_id",),
    "line_item": ("line_item_id",),
    "creative": ("creative_id",),
    "store": ("store_id", "time_zone"),
    "day": ("day",),
    "hour": ("hour",),
    "arm": ("layer_id", "arm_id"),
    RULE_DIMENSION: ("invalid_traffic_rule",),
}


def dimensions_of(request: admin_pb2.RunReportRequest) -> tuple[str, ...]:
    """The report's dimension names, in request order (the request already checked)."""
    return tuple(DIMENSIONS[d] for d in request.dimensions)


def store_request(request: admin_pb2.RunReportRequest, store_id: str, time_zone: str) -> admin_pb2.RunReportRequest:
    """``request`` narrowed to one store, its days in that store's zone."""
    one = admin_pb2.RunReportRequest()
    one.CopyFrom(request)
    del one.store_ids[:]
    one.store_ids.append(store_id)
    one.time_zone = time_zone
    return one


def header(dimensions: Sequence[str]) -> list[str]:
    """The CSV's column names: the dimensions' columns, then the metrics."""
    return [c for d in dimensions for c in _DIMENSION_COLUMNS[d]] + list(METRIC_COLUMNS)


def local_hour_label(hour_start_us: int, tz: tzinfo) -> str:
    """The hour's start in ``tz`` as ISO 8601 with its UTC offset, e.g. 2026-12-07T18:00-06:00."""
    return datetime.fromtimestamp(hour_start_us / US_PER_S, tz).isoformat(timespec="minutes")


def labelled(dimensions: Sequence[str], key: RowKey, store_id: str, time_zone: str, tz: tzinfo) -> tuple[str, ...]:
    """A report row's key (``query.fold_rows`` order: day already local) as the CSV's dimension cells."""
    cells: list[str] = []
    for dim, value in zip(dimensions, key, strict=True):
        if dim == "hour":
            cells.append(local_hour_label(int(value), tz))
        elif dim == "arm":
            cells.extend(str(v) for v in value)
        elif dim == RULE_DIMENSION:
            cells.append(common_pb2.InvalidTrafficRule.Name(int(value)))
        elif dim == "store":
            cells.extend((store_id, time_zone or "UTC"))
        else:
            cells.append(str(value))
    return tuple(cells)


def merge(into: dict[tuple[str, ...], Delivery], rows: Iterable[tuple[tuple[str, ...], Delivery]]) -> None:
    """Add labelled rows into ``into`` (stores' rows with the same local labels sum)."""
    for cells, delivery in rows:
        into[cells] = into[cells] + delivery if cells in into else delivery


def _metric_cells(delivery: Delivery) -> list[Any]:
    m = metrics_pb(delivery)
    return [getattr(m, c) for c in METRIC_COLUMNS]


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """``rows`` as CSV lines (RFC 4180 quoting, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def csv_lines(rows: Mapping[tuple[str, ...], Delivery]) -> str:
    """Labelled rows as CSV lines in label order."""
    return csv_text([*cells, *_metric_cells(rows[cells])] for cells in sorted(rows))


class Chunker:
    """Cuts text into CHUNK_BYTES pieces of UTF-8, numbered from 1, as it is fed."""

    def __init__(self, chunk_bytes: int = CHUNK_BYTES) -> None:
        self._chunk_bytes = chunk_bytes
        self._buffer = bytearray()
        self._seq = 0
        self.byte_count = 0

    def feed(self, text: str) -> list[tuple[int, bytes]]:
        """The chunks that are now full."""
        data = text.encode()
        self.byte_count += len(data)
        self._buffer += data
        return list(self._take(full_only=True))

    def flush(self) -> list[tuple[int, bytes]]:
        """Whatever is left, as the last chunk(s)."""
        return list(self._take(full_only=False))

    def _take(self, *, full_only: bool) -> Iterator[tuple[int, bytes]]:
        while len(self._buffer) >= self._chunk_bytes or (not full_only and self._buffer):
            piece = bytes(self._buffer[: self._chunk_bytes])
            del self._buffer[: self._chunk_bytes]
            self._seq += 1
            yield self._seq, piece
