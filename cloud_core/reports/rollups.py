"""The report rollups as plain values: the rows an upload adds to them, and the query that reads them. Pure.

Ingest adds each newly billed event to the hourly delivery rollup once for all traffic
(``layer_id = ALL_TRAFFIC``) and once per experiment layer its trip was in, and to the daily
rollups (per UTC day, and per day without store and creative); each newly recorded basket event
goes to its trip and the trip's hourly arm sums. Reports read only the rollups, so their cost
follows hours × stores × creatives × arms, not events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cartads import bounds
from cartads.time_units import day_start_us, hour_start_us
from cartads.v1 import common_pb2
from cloud_core.events.outcomes import EventOutcome
from cloud_core.reports.metrics import trip_cents

ALL_TRAFFIC = ""
# The summed columns of the delivery rollups, and of the trip rollup.
DELIVERY_SUMS = (
    "impressions",
    "clicks",
    "conversions",
    "spend_micros",
    "sales_micros",
    "over_delivery_micros",
    "over_delivered_events",
    "plays",
    # Sales at checkout: click-through, view-through and halo units and value (migration 0014).
    "ct_sales_units",
    "ct_sales_micros",
    "vt_sales_units",
    "vt_sales_micros",
    "halo_sales_units",
    "halo_sales_micros",
)
TRIP_SUMS = ("trips", "converting_trips", "sales_micros", "sales_sq_cents2")
# Keys of the delivery rollups (hourly and daily; daily per campaign) and of the trip rollup.
DELIVERY_KEY = ("layer_id", "hour_start_us", "store_id", "campaign_id", "line_item_id", "creative_id", "arm_id")
CAMPAIGN_KEY = ("layer_id", "hour_start_us", "campaign_id", "line_item_id", "arm_id")
TRIP_KEY = ("layer_id", "hour_start_us", "store_id", "arm_id")
CAMPAIGN_LEVEL_COLUMNS = frozenset(CAMPAIGN_KEY)
# What a shopping trip is made of: events every trip has whether or not it was shown an ad, so a
# holdout trip counts exactly like an exposed one.
_BASKET_TYPES = frozenset(
    {common_pb2.EVENT_TYPE_BASKET_ADD, common_pb2.EVENT_TYPE_BASKET_REMOVE, common_pb2.EVENT_TYPE_CHECKOUT}
)

Row = dict[str, Any]
TripKey = tuple[str, str]  # (session_id, layer_id)


def _add(totals: dict[Any, list[int]], key: Any, counts: Sequence[int]) -> None:
    acc = totals.get(key)
    if acc is None:
        totals[key] = list(counts)
    else:
        for i, n in enumerate(counts):
            acc[i] += n


_HALO = common_pb2.EVENT_TYPE_HALO_SALE
_CLICK_THROUGH = common_pb2.ATTRIBUTION_KIND_CLICK_THROUGH


def _sale_counts(o: EventOutcome) -> tuple[int, int, int, int, int, int]:
    """(ct units, ct value, vt units, vt value, halo units, halo value) of one sale; zeros otherwise."""
    units, value = o.sale_units, o.sale_micros
    if not units:
        return (0, 0, 0, 0, 0, 0)
    if o.event_type == _HALO:
        return (0, 0, 0, 0, units, value)
    if o.attribution == _CLICK_THROUGH:
        return (units, value, 0, 0, 0, 0)
    return (0, 0, units, value, 0, 0)


def delivery_rollup_rows(
    store_id: str, billed: Iterable[EventOutcome], ingest_us: int, over_micros: Mapping[str, int] | None = None
) -> list[Row]:
    """The hourly delivery rollup's deltas of newly billed events and valid ad plays (one row per key);
    ``over_micros`` holds, by event id, the part of a billed event's price past its campaign's budget
    (not charged)."""
    over = over_micros or {}
    totals: dict[tuple[str, int, str, str, str, str], list[int]] = {}
    advertisers: dict[str, str] = {}
    for o in billed:
        hour = hour_start_us(o.receive_time_us or ingest_us)
        kind = o.event_type
        counts = (
            int(kind == common_pb2.EVENT_TYPE_IMPRESSION),
            int(kind == common_pb2.EVENT_TYPE_CLICK),
            int(kind == common_pb2.EVENT_TYPE_CONVERSION),
            o.charge_micros,
            o.sales_micros,
            over.get(o.event_id, 0),
            int(o.event_id in over),
            int(kind == common_pb2.EVENT_TYPE_AD_PLAY),
            *_sale_counts(o),
        )
        advertisers[o.campaign_id] = o.advertiser_id
        base = (o.campaign_id, o.line_item_id, o.creative_id)
        _add(totals, (ALL_TRAFFIC, hour, *base, ""), counts)
        for layer_id, arm_id in o.experiment_arms:
            _add(totals, (layer_id, hour, *base, arm_id), counts)
    return [
        {
            "layer_id": layer_id,
            "hour_start_us": hour,
            "store_id": store_id,
            "campaign_id": cid,
            "line_item_id": lid,
            "creative_id": crid,
            "arm_id": arm_id,
            "advertiser_id": advertisers[cid],
            **dict(zip(DELIVERY_SUMS, counts, strict=True)),
        }
        for (layer_id, hour, cid, lid, crid, arm_id), counts in totals.items()
    ]


def _regroup(rows: Iterable[Row], key: Sequence[str], day: bool) -> list[Row]:
    out: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        moved = {k: row[k] for k in (*key, "advertiser_id", *DELIVERY_SUMS)}
        if day:
            moved["hour_start_us"] = day_start_us(row["hour_start_us"])
        k = tuple(moved[c] for c in key)
        acc = out.get(k)
        if acc is None:
            out[k] = moved
        else:
            for c in DELIVERY_SUMS:
                acc[c] += moved[c]
    return list(out.values())


def daily_rows(hourly: Iterable[Row]) -> list[Row]:
    """``hourly`` rollup rows summed per UTC day (the daily table's hour_start_us is the day's start)."""
    return _regroup(hourly, DELIVERY_KEY, day=True)


def campaign_rows(daily: Iterable[Row]) -> list[Row]:
    """Daily rows summed over stores and creatives (the daily rollup per campaign)."""
    return _regroup(daily, CAMPAIGN_KEY, day=False)


@dataclass
class TripDelta:
    """What one upload changes about one trip: the arm and hour it starts in, and sales it adds."""

    arm_id: str
    hour_start_us: int
    added_sales_micros: int = 0


@dataclass
class TripChanges:
    """What one upload changes about its trips, by (session_id, layer_id)."""

    deltas: dict[TripKey, TripDelta] = field(default_factory=dict)


def trip_changes(recorded: Iterable[EventOutcome], ingest_us: int) -> TripChanges:
    """Per (session, layer): the arm and hour of the upload's first basket event, and the value of
    advertised products it added."""
    changes = TripChanges()
    for o in recorded:
        if o.event_type not in _BASKET_TYPES or not o.session_id:
            continue
        for layer_id, arm_id in o.experiment_arms:
            delta = changes.deltas.get((o.session_id, layer_id))
            if delta is None:
                delta = changes.deltas[(o.session_id, layer_id)] = TripDelta(
                    arm_id, hour_start_us(o.receive_time_us or ingest_us)
                )
            delta.added_sales_micros += o.advertised_sales_micros
    return changes


def new_trip_rows(store_id: str, changes: TripChanges) -> list[Row]:
    """The trip rows to claim (a trip already stored keeps its first arm and hour), in key order."""
    return [
        {
            "store_id": store_id,
            "session_id": session_id,
            "layer_id": layer_id,
            "arm_id": delta.arm_id,
            "hour_start_us": delta.hour_start_us,
            "sales_micros": 0,
        }
        for (session_id, layer_id), delta in sorted(changes.deltas.items())
    ]


@dataclass(frozen=True)
class StoredTrip:
    """A trip as stored before this upload: its arm, starting hour and sales so far."""

    arm_id: str
    hour_start_us: int
    sales_micros: int


@dataclass(frozen=True)
class TripUpdate:
    """A trip's new sales, and the change to its arm's hourly sums."""

    sales: list[tuple[str, str, int]]  # (session_id, layer_id, sales_micros after this upload)
    rollup_rows: list[Row]


def trip_update(
    store_id: str, changes: TripChanges, created: Iterable[TripKey], stored: Mapping[TripKey, StoredTrip]
) -> TripUpdate:
    """Move the arm sums by each trip's change: +1 trip when ``created`` by this upload, and its sales,
    converting flag and squared sales from before to after. ``stored`` holds the trips (of those
    changed) as they were before this upload's sales; a trip missing from it starts at zero."""
    created = set(created)
    sums: dict[tuple[str, int, str], list[int]] = {}
    sales: list[tuple[str, str, int]] = []
    for key in sorted(changes.deltas):
        delta = changes.deltas[key]
        trip = stored.get(key, StoredTrip(delta.arm_id, delta.hour_start_us, 0))
        before = trip.sales_micros
        # Clamped before it is squared below: the variance sums must not overflow their column.
        after = max(before, min(before + delta.added_sales_micros, bounds.MAX_TRIP_SALES_MICROS))
        if after != before:
            sales.append((key[0], key[1], after))
        _add(
            sums,
            (key[1], trip.hour_start_us, trip.arm_id),
            (
                int(key in created),
                int(after > 0) - int(before > 0),
                after - before,
                trip_cents(after) ** 2 - trip_cents(before) ** 2,
            ),
        )
    rows = [
        {
            "layer_id": layer_id,
            "hour_start_us": hour,
            "store_id": store_id,
            "arm_id": arm_id,
            **dict(zip(TRIP_SUMS, values, strict=True)),
        }
        for (layer_id, hour, arm_id), values in sums.items()
        if any(values)
    ]
    return TripUpdate(sales, rows)


# ---- reading ----

# Report dimension → the rollup columns it groups by.
GROUP_COLUMNS = {
    "campaign": ("campaign_id",),
    "line_item": ("line_item_id",),
    "creative": ("creative_id",),
    "store": ("store_id",),
    # Days are folded from hours in the report's time zone (cloud_core/reports/query.py).
    "hour": ("hour_start_us",),
    "day": ("hour_start_us",),
    "arm": ("layer_id", "arm_id"),
}


@dataclass(frozen=True)
class ReportFilter:
    """Which rollup rows a report reads: [start_us, end_us) in whole hours and optional id filters."""

    start_us: int
    end_us: int
    advertiser_id: str = ""
    campaign_ids: tuple[str, ...] = ()
    line_item_ids: tuple[str, ...] = ()
    creative_ids: tuple[str, ...] = ()
    store_ids: tuple[str, ...] = ()
    layer_id: str = ""


@dataclass(frozen=True)
class ReportQuery:
    """A delivery query: the rollup columns to group by (GROUP_COLUMNS values) and the filter."""

    columns: tuple[str, ...]
    where: ReportFilter
    by_arm: bool = False
    # Which rollup to read: "hourly", or "daily" / "daily_campaign" (whole UTC days only; the
    # latter without store and creative).
    table: str = "hourly"
