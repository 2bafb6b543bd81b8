"""Report rollups: written in the ledger's ingest transaction, read by RunReport.

Ingest adds each newly billed event to ``report_rollups_hourly`` once for all traffic
(``layer_id = ''``) and once per experiment layer its trip was in, and each newly recorded basket
event to its trip (``experiment_trips``) and the trip's hourly arm sums. Reports read only the two
hourly rollups, grouped in SQL: their size follows hours × stores × creatives × arms, not events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cartads.time_units import day_start_us, hour_start_us
from cartads.v1 import common_pb2
from cloud_core.reports.metrics import Delivery, TripSums, trip_cents
from cloud_core.storage import schema as t
from cloud_core.storage.db import Database, insert, upsert_adding
from cloud_core.storage.protocol import EventOutcome
from cloud_core.storage.store_base import IN_CHUNK

ALL_TRAFFIC = ""
_DELIVERY = ("impressions", "clicks", "conversions", "spend_micros", "sales_micros")
_TRIP_SUMS = ("trips", "converting_trips", "sales_micros", "sales_sq_cents2")
_R_KEY = ("layer_id", "hour_start_us", "store_id", "campaign_id", "line_item_id", "creative_id", "arm_id")
_CAMPAIGN_KEY = ("layer_id", "hour_start_us", "campaign_id", "line_item_id", "arm_id")
_TR_KEY = ("layer_id", "hour_start_us", "store_id", "arm_id")
# What a shopping trip is made of: events every trip has whether or not it was shown an ad, so a
# holdout trip counts exactly like an exposed one.
_BASKET_TYPES = frozenset(
    {common_pb2.EVENT_TYPE_BASKET_ADD, common_pb2.EVENT_TYPE_BASKET_REMOVE, common_pb2.EVENT_TYPE_CHECKOUT}
)


def _add(totals: dict[Any, list[int]], key: Any, counts: Sequence[int]) -> None:
    acc = totals.get(key)
    if acc is None:
        totals[key] = list(counts)
    else:
        for i, n in enumerate(counts):
            acc[i] += n


def _upsert_adding(
    conn: Connection, table: sa.Table, key: Sequence[str], columns: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    """Upsert ``rows``, adding ``columns`` to an existing row's; in key order (lock order on PostgreSQL)."""
    upsert_adding(conn, table, key, columns, rows)


def delivery_rollup_rows(store_id: str, billed: Iterable[EventOutcome], ingest_us: int) -> list[dict[str, Any]]:
    """The ``report_rollups_hourly`` deltas of newly billed events (one row per key)."""
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
            **dict(zip(_DELIVERY, counts, strict=True)),
        }
        for (layer_id, hour, cid, lid, crid, arm_id), counts in totals.items()
    ]


def _regroup(rows: Iterable[dict[str, Any]], key: Sequence[str], day: bool) -> list[dict[str, Any]]:
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        moved = {k: row[k] for k in (*key, "advertiser_id", *_DELIVERY)}
        if day:
            moved["hour_start_us"] = day_start_us(row["hour_start_us"])
        k = tuple(moved[c] for c in key)
        acc = out.get(k)
        if acc is None:
            out[k] = moved
        else:
            for c in _DELIVERY:
                acc[c] += moved[c]
    return list(out.values())


def daily_rows(hourly: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``hourly`` rollup rows summed per UTC day (the daily table's hour_start_us is the day's start)."""
    return _regroup(hourly, _R_KEY, day=True)


def campaign_rows(daily: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Daily rows summed over stores and creatives (``report_rollups_daily_campaign``)."""
    return _regroup(daily, _CAMPAIGN_KEY, day=False)


@dataclass
class _TripDelta:
    arm_id: str
    hour_start_us: int
    added_sales_micros: int = 0


@dataclass
class TripChanges:
    """What one upload changes about its trips: new trip rows, and sales added per trip."""

    deltas: dict[tuple[str, str], _TripDelta] = field(default_factory=dict)


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
                delta = changes.deltas[(o.session_id, layer_id)] = _TripDelta(
                    arm_id, hour_start_us(o.receive_time_us or ingest_us)
                )
            delta.added_sales_micros += o.advertised_sales_micros
    return changes


def _write_trips(conn: Connection, store_id: str, changes: TripChanges) -> None:
    """Claim new trips (insert or nothing: a trip keeps its first arm and hour), add sales, and move
    the arm sums by each trip's change: +1 trip when new, and its sales, converting flag and
    squared sales from before to after."""
    if not changes.deltas:
        return
    tr = t.experiment_trips.c
    keys = sorted(changes.deltas)
    new_rows = [
        {
            "store_id": store_id,
            "session_id": session_id,
            "layer_id": layer_id,
            "arm_id": changes.deltas[(session_id, layer_id)].arm_id,
            "hour_start_us": changes.deltas[(session_id, layer_id)].hour_start_us,
            "sales_micros": 0,
        }
        for session_id, layer_id in keys
    ]
    # One cached statement executed for many rows (SQLAlchemy batches them with RETURNING), not a
    # multi-row VALUES compiled anew per upload; a trip already claimed returns nothing.
    claim = insert(conn, t.experiment_trips).on_conflict_do_nothing(
        index_elements=["store_id", "session_id", "layer_id"]
    )
    returned = conn.execute(claim.returning(tr.session_id, tr.layer_id), new_rows)
    created = {(str(session_id), str(layer_id)) for session_id, layer_id in returned}
    adding = [k for k in keys if changes.deltas[k].added_sales_micros]
    current: dict[tuple[str, str], tuple[str, int, int]] = {}
    sessions = sorted({s for s, _ in adding})
    for i in range(0, len(sessions), IN_CHUNK):
        # FOR UPDATE: on PostgreSQL two uploads adding sales to one trip at once serialize on the row
        # (the second re-reads the first's committed sum); SQLite's write lock already does, and
        # SQLAlchemy leaves the clause out there.
        query = (
            sa.select(tr.session_id, tr.layer_id, tr.arm_id, tr.hour_start_us, tr.sales_micros)
            .where(tr.store_id == store_id, tr.session_id.in_(sessions[i : i + IN_CHUNK]))
            .order_by(tr.session_id, tr.layer_id)
            .with_for_update()
        )
        for session_id, layer_id, arm_id, hour, sales in conn.execute(query):
            current[(str(session_id), str(layer_id))] = (str(arm_id), int(hour), int(sales))
    sums: dict[tuple[str, int, str], list[int]] = {}
    updates: list[dict[str, Any]] = []
    for key in keys:
        delta = changes.deltas[key]
        arm_id, hour, before = current.get(key, (delta.arm_id, delta.hour_start_us, 0))
        after = before + delta.added_sales_micros
        if after != before:
            updates.append({"k_store": store_id, "k_session": key[0], "k_layer": key[1], "new_sales": after})
        _add(
            sums,
            (key[1], hour, arm_id),
            (
                int(key in created),
                int(after > 0) - int(before > 0),
                after - before,
                trip_cents(after) ** 2 - trip_cents(before) ** 2,
            ),
        )
    if updates:
        conn.execute(
            sa.update(t.experiment_trips)
            .where(
                tr.store_id == sa.bindparam("k_store"),
                tr.session_id == sa.bindparam("k_session"),
                tr.layer_id == sa.bindparam("k_layer"),
            )
            .values(sales_micros=sa.bindparam("new_sales")),
            updates,
        )
    _upsert_adding(
        conn,
        t.experiment_trip_rollups_hourly,
        _TR_KEY,
        _TRIP_SUMS,
        [
            {
                "layer_id": layer_id,
                "hour_start_us": hour,
                "store_id": store_id,
                "arm_id": arm_id,
                **dict(zip(_TRIP_SUMS, values, strict=True)),
            }
            for (layer_id, hour, arm_id), values in sums.items()
            if any(values)
        ],
    )


def write_report_rollups(
    conn: Connection,
    store_id: str,
    billed: Sequence[EventOutcome],
    recorded: Sequence[EventOutcome],
    ingest_us: int,
) -> None:
    """In the ledger's transaction: roll up the newly ``billed`` events, and the trips of every newly
    ``recorded`` (not rejected) event, so each event reaches the reports exactly once."""
    hourly = delivery_rollup_rows(store_id, billed, ingest_us)
    _upsert_adding(conn, t.report_rollups_hourly, _R_KEY, _DELIVERY, hourly)
    daily = daily_rows(hourly)
    _upsert_adding(conn, t.report_rollups_daily, _R_KEY, _DELIVERY, daily)
    _upsert_adding(conn, t.report_rollups_daily_campaign, _CAMPAIGN_KEY, _DELIVERY, campaign_rows(daily))
    _write_trips(conn, store_id, trip_changes(recorded, ingest_us))


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


_TABLES = {
    "hourly": t.report_rollups_hourly,
    "daily": t.report_rollups_daily,
    "daily_campaign": t.report_rollups_daily_campaign,
}
CAMPAIGN_LEVEL_COLUMNS = frozenset(_CAMPAIGN_KEY)


def _delivery_select(q: ReportQuery) -> sa.Select[Any]:
    r = _TABLES[q.table].c
    f = q.where
    query = sa.select(*(r[c] for c in q.columns), *(sa.func.sum(r[c]) for c in _DELIVERY))
    if q.by_arm:
        # "> ''" rather than "!= ''": a range on the key's first column, so the index serves it.
        query = query.where(r.layer_id == f.layer_id) if f.layer_id else query.where(r.layer_id > ALL_TRAFFIC)
    else:
        query = query.where(r.layer_id == ALL_TRAFFIC)
    query = query.where(r.hour_start_us >= f.start_us, r.hour_start_us < f.end_us)
    if f.advertiser_id:
        query = query.where(r.advertiser_id == f.advertiser_id)
    for name, values in (
        ("campaign_id", f.campaign_ids),
        ("line_item_id", f.line_item_ids),
        ("creative_id", f.creative_ids),
        ("store_id", f.store_ids),
    ):
        if values:
            query = query.where(r[name].in_(sorted(set(values))))
    if q.columns:
        query = query.group_by(*(r[c] for c in q.columns))
    return query


def _trip_select(f: ReportFilter) -> sa.Select[Any]:
    tr = t.experiment_trip_rollups_hourly.c
    query = sa.select(tr.layer_id, tr.arm_id, *(sa.func.sum(tr[c]) for c in _TRIP_SUMS))
    query = query.where(tr.hour_start_us >= f.start_us, tr.hour_start_us < f.end_us)
    if f.layer_id:
        query = query.where(tr.layer_id == f.layer_id)
    if f.store_ids:
        query = query.where(tr.store_id.in_(sorted(set(f.store_ids))))
    return query.group_by(tr.layer_id, tr.arm_id).order_by(tr.layer_id, tr.arm_id)


def read_delivery(conn: Connection, q: ReportQuery) -> list[tuple[tuple[Any, ...], Delivery]]:
    """Grouped delivery sums: (values of ``q.columns``, their totals) per group."""
    n = len(q.columns)
    out = []
    for row in conn.execute(_delivery_select(q)):
        impressions, clicks, conversions, spend, sales = (int(v or 0) for v in row[n:])
        out.append((tuple(row[:n]), Delivery(0, impressions, clicks, conversions, spend, sales)))
    return out


def read_trip_sums(conn: Connection, f: ReportFilter) -> list[tuple[str, str, TripSums]]:
    """(layer_id, arm_id, the arm's trip sums) for every arm with trips in the range."""
    return [
        (str(layer_id), str(arm_id), TripSums(*(int(v or 0) for v in sums)))
        for layer_id, arm_id, *sums in conn.execute(_trip_select(f))
    ]


def read_requests(conn: Connection, f: ReportFilter, columns: Sequence[str]) -> list[tuple[tuple[Any, ...], int]]:
    """GetAds requests the edges counted (every outcome) in the range, grouped by ``columns``
    (store_id and/or hour_start_us)."""
    rq = t.request_counts_hourly.c
    query = sa.select(*(rq[c] for c in columns), sa.func.sum(rq.requests)).where(
        rq.hour_start_us >= f.start_us, rq.hour_start_us < f.end_us
    )
    if f.store_ids:
        query = query.where(rq.store_id.in_(sorted(set(f.store_ids))))
    if columns:
        query = query.group_by(*(rq[c] for c in columns))
    n = len(columns)
    return [(tuple(row[:n]), int(row[n] or 0)) for row in conn.execute(query)]


class ReportTablesMixin:
    """The ReportStore Protocol (storage/protocol.py) over ``self.db``."""

    db: Database

    async def report_delivery(self, queries: Sequence[ReportQuery]) -> list[tuple[tuple[Any, ...], Delivery]]:
        """Every query's groups, in one read snapshot (a report's hourly edges and its whole days)."""
        return await self.db.read(lambda conn: [row for q in queries for row in read_delivery(conn, q)])

    async def report_requests(self, where: ReportFilter, columns: Sequence[str]) -> list[tuple[tuple[Any, ...], int]]:
        return await self.db.read(lambda conn: read_requests(conn, where, columns))

    async def report_trip_sums(self, where: ReportFilter) -> list[tuple[str, str, TripSums]]:
        return await self.db.read(lambda conn: read_trip_sums(conn, where))
