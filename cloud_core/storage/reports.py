"""Report rollups in SQL, written in the ledger's ingest transaction and read by RunReport; and the
experiment layers whose arms the reports compare (table ``experiment_layers``, arms as a JSON list).

The rollup rows come from the pure rollup maths (``cloud_core.reports.rollups``); this module only
writes them (adding to existing rows, never read-then-write) and reads them grouped in SQL. Also
some carts' events by outcome (``count_cart_events``), to reconcile what carts reported with billing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from google.protobuf import json_format
from sqlalchemy.engine import Connection

from cartads.bounds import clip
from cartads.rpc.errors import AlreadyExistsError, NotFoundError
from cartads.time_units import ts_to_us, us_to_ts
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin.pagination import PageRequest
from cloud_core.events.outcomes import EventOutcome
from cloud_core.reports.invalid import InvalidQuery
from cloud_core.reports.metrics import SALES_FIELDS, Delivery, TripSums
from cloud_core.reports.rollups import (
    ALL_TRAFFIC,
    CAMPAIGN_KEY,
    DELIVERY_KEY,
    DELIVERY_SUMS,
    TRIP_KEY,
    TRIP_SUMS,
    ReportFilter,
    ReportQuery,
    StoredTrip,
    TripChanges,
    TripKey,
    campaign_rows,
    daily_rows,
    delivery_rollup_rows,
    new_trip_rows,
    trip_changes,
    trip_update,
)
from cloud_core.storage import schema as t
from cloud_core.storage.ivt import read_invalid
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import IN_CHUNK, insert, upsert_adding


def _write_trips(conn: Connection, store_id: str, changes: TripChanges) -> None:
    """Claim new trips (insert or nothing: a trip keeps its first arm and hour), then write each
    changed trip's sales and its arm sums' change (``trip_update``)."""
    if not changes.deltas:
        return
    tr = t.experiment_trips.c
    # One cached statement executed for many rows (SQLAlchemy batches them with RETURNING), not a
    # multi-row VALUES compiled anew per upload; a trip already claimed returns nothing.
    claim = insert(conn, t.experiment_trips).on_conflict_do_nothing(
        index_elements=["store_id", "session_id", "layer_id"]
    )
    returned = conn.execute(claim.returning(tr.session_id, tr.layer_id), new_trip_rows(store_id, changes))
    created = {(str(session_id), str(layer_id)) for session_id, layer_id in returned}
    stored: dict[TripKey, StoredTrip] = {}
    sessions = sorted({s for (s, _), delta in changes.deltas.items() if delta.added_sales_micros})
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
            stored[(str(session_id), str(layer_id))] = StoredTrip(str(arm_id), int(hour), int(sales))
    update = trip_update(store_id, changes, created, stored)
    if update.sales:
        conn.execute(
            sa.update(t.experiment_trips)
            .where(
                tr.store_id == sa.bindparam("k_store"),
                tr.session_id == sa.bindparam("k_session"),
                tr.layer_id == sa.bindparam("k_layer"),
            )
            .values(sales_micros=sa.bindparam("new_sales")),
            [
                {"k_store": store_id, "k_session": session_id, "k_layer": layer_id, "new_sales": sales}
                for session_id, layer_id, sales in update.sales
            ],
        )
    upsert_adding(conn, t.experiment_trip_rollups_hourly, TRIP_KEY, TRIP_SUMS, update.rollup_rows)


def write_report_rollups(
    conn: Connection,
    store_id: str,
    billed: Sequence[EventOutcome],
    recorded: Sequence[EventOutcome],
    ingest_us: int,
    *,
    over_micros: Mapping[str, int] | None = None,
) -> None:
    """In the ledger's transaction: roll up the newly ``billed`` events (``over_micros``: by event id,
    the part of a price past its campaign's budget), and the trips of every newly ``recorded`` (not
    rejected) event, so each event reaches the reports exactly once."""
    # Plays bill nothing, so they are never ``billed``: a valid play whose token verified counts here.
    plays = [o for o in recorded if o.event_type == common_pb2.EVENT_TYPE_AD_PLAY and o.campaign_id]
    # Sales bill nothing either: a valid one whose token vouched for it (sale_units set) counts here.
    sales = [o for o in recorded if o.sale_units and o.campaign_id]
    hourly = delivery_rollup_rows(store_id, [*billed, *plays, *sales], ingest_us, over_micros)
    upsert_adding(conn, t.report_rollups_hourly, DELIVERY_KEY, DELIVERY_SUMS, hourly)
    daily = daily_rows(hourly)
    upsert_adding(conn, t.report_rollups_daily, DELIVERY_KEY, DELIVERY_SUMS, daily)
    upsert_adding(conn, t.report_rollups_daily_campaign, CAMPAIGN_KEY, DELIVERY_SUMS, campaign_rows(daily))
    _write_trips(conn, store_id, trip_changes(recorded, ingest_us))


# ---- reading ----

_TABLES = {
    "hourly": t.report_rollups_hourly,
    "daily": t.report_rollups_daily,
    "daily_campaign": t.report_rollups_daily_campaign,
}


def _delivery_select(q: ReportQuery) -> sa.Select[Any]:
    r = _TABLES[q.table].c
    f = q.where
    query = sa.select(*(r[c] for c in q.columns), *(sa.func.sum(r[c]) for c in DELIVERY_SUMS))
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
    query = sa.select(tr.layer_id, tr.arm_id, *(sa.func.sum(tr[c]) for c in TRIP_SUMS))
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
        impressions, clicks, conversions, spend, sales, over, over_events, plays, *bought = (
            int(v or 0) for v in row[n:]
        )
        delivery = Delivery(0, impressions, clicks, conversions, spend, sales)
        extra = {"over_delivery_micros": over, "over_delivered_events": over_events, "plays": plays}
        extra.update(zip(SALES_FIELDS, bought, strict=True))
        out.append((tuple(row[:n]), replace(delivery, **extra)))
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


class SqlReports:
    """The ReportStore Protocol (storage/protocol.py): grouped sums of the report rollups."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def report_delivery(self, queries: Sequence[ReportQuery]) -> list[tuple[tuple[Any, ...], Delivery]]:
        """Every query's groups, in one read snapshot (a report's hourly edges and its whole days)."""
        return await self._db.read(lambda conn: [row for q in queries for row in read_delivery(conn, q)])

    async def report_invalid(self, query: InvalidQuery) -> list[tuple[tuple[Any, ...], Delivery]]:
        return await self._db.read(lambda conn: read_invalid(conn, query))

    async def report_requests(self, where: ReportFilter, columns: Sequence[str]) -> list[tuple[tuple[Any, ...], int]]:
        return await self._db.read(lambda conn: read_requests(conn, where, columns))

    async def report_trip_sums(self, where: ReportFilter) -> list[tuple[str, str, TripSums]]:
        return await self._db.read(lambda conn: read_trip_sums(conn, where))

    async def billed_by_cart(self, store_id: str) -> list[tuple[str, int, int, int]]:
        """(cart_id, event_type, events billed, micros charged) of a store, from the raw events: an
        audit of who was billed, which the rollups (by campaign, not by cart) cannot answer."""
        e = t.events.c
        query = (
            sa.select(e.cart_id, e.event_type, sa.func.count(), sa.func.coalesce(sa.func.sum(e.charge_micros), 0))
            .where(e.store_id == store_id, e.outcome == "billed")
            .group_by(e.cart_id, e.event_type)
            .order_by(e.cart_id, e.event_type)
        )
        rows = await self._db.read(lambda conn: list(conn.execute(query)))
        return [(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]


# ---- experiment layers ----

_X = t.experiment_layers.c
_LAYER_COLUMNS = (_X.layer_id, _X.display_name, _X.salt, _X.state, _X.arms_json, _X.create_time_us)


def _arms_json(layer: admin_pb2.ExperimentLayer) -> str:
    return json.dumps(
        [json_format.MessageToDict(arm, preserving_proto_field_name=True) for arm in layer.arms], sort_keys=True
    )


def _layer(row: Sequence[Any]) -> admin_pb2.ExperimentLayer:
    layer_id, name, salt, state, arms_json, created = row
    layer = admin_pb2.ExperimentLayer(
        layer_id=layer_id, display_name=name, salt=salt, state=state, create_time=us_to_ts(int(created))
    )
    for arm in json.loads(arms_json):
        json_format.ParseDict(arm, layer.arms.add())
    return layer


def _values(layer: admin_pb2.ExperimentLayer) -> dict[str, object]:
    return {
        "display_name": layer.display_name,
        "salt": layer.salt,
        "state": int(layer.state),
        "arms_json": _arms_json(layer),
    }


class SqlExperiments:
    """The ExperimentStore Protocol (storage/protocol.py): experiment layers."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_experiment_layer(self, layer: admin_pb2.ExperimentLayer) -> None:
        def _insert(conn: Connection) -> None:
            if conn.execute(sa.select(_X.layer_id).where(_X.layer_id == layer.layer_id)).first() is not None:
                raise AlreadyExistsError(f"experiment layer {layer.layer_id!r} already exists", "layer_id")
            conn.execute(
                t.experiment_layers.insert().values(
                    layer_id=layer.layer_id, create_time_us=ts_to_us(layer.create_time), **_values(layer)
                )
            )

        await self._db.write(_insert)

    async def get_experiment_layer(self, layer_id: str) -> admin_pb2.ExperimentLayer | None:
        query = sa.select(*_LAYER_COLUMNS).where(_X.layer_id == layer_id)
        row = await self._db.read(lambda conn: conn.execute(query).first())
        return _layer(row) if row is not None else None

    async def list_experiment_layers(self, page: PageRequest) -> list[admin_pb2.ExperimentLayer]:
        """A page in id order, one row more than the limit (the next page's token comes from it)."""
        after = _X.layer_id > page.after_id
        query = sa.select(*_LAYER_COLUMNS).where(after).order_by(_X.layer_id).limit(page.limit + 1)
        rows = await self._db.read(lambda conn: list(conn.execute(query)))
        return [_layer(r) for r in rows]

    async def active_experiment_layers(self) -> list[admin_pb2.ExperimentLayer]:
        """Layers in the ACTIVE state, in id order: what every store's index carries."""
        query = sa.select(*_LAYER_COLUMNS).where(_X.state == admin_pb2.SERVING_STATE_ACTIVE).order_by(_X.layer_id)
        rows = await self._db.read(lambda conn: list(conn.execute(query)))
        return [_layer(r) for r in rows]

    async def update_experiment_layer(self, layer: admin_pb2.ExperimentLayer) -> None:
        def _update(conn: Connection) -> None:
            stmt = sa.update(t.experiment_layers).where(_X.layer_id == layer.layer_id).values(**_values(layer))
            if conn.execute(stmt).rowcount == 0:
                raise NotFoundError(
                    f"experiment layer {clip(layer.layer_id)!r} does not exist", "experiment_layer.layer_id"
                )

        await self._db.write(_update)

    async def delete_experiment_layer(self, layer_id: str) -> None:
        def _delete(conn: Connection) -> None:
            if conn.execute(sa.delete(t.experiment_layers).where(_X.layer_id == layer_id)).rowcount == 0:
                raise NotFoundError(f"experiment layer {clip(layer_id)!r} does not exist", "layer_id")

        await self._db.write(_delete)


# Each outcome the events table records, as the CartEventCount field that counts it. An event cut by
# its campaign's budget is delivered and in the ledger at no charge: over_budget, not billed.
OUTCOME_FIELDS = {
    "billed": "billed",
    "over_delivered": "over_budget",
    "invalid": "invalid",
    "rejected": "rejected",
    "already_billed": "duplicate_decisions",
    "recorded": "recorded",
}


def count_cart_events(
    conn: Connection, store_id: str, cart_ids: Sequence[str], start_us: int | None, end_us: int | None
) -> list[admin_pb2.CartEventCount]:
    """Per cart and event type, the events received in [start_us, end_us) by outcome (one read)."""
    ev = t.events.c
    counts: dict[tuple[str, int], admin_pb2.CartEventCount] = {}
    ids = sorted(set(cart_ids))
    for i in range(0, len(ids), IN_CHUNK):
        query = (
            sa.select(ev.cart_id, ev.event_type, ev.outcome, sa.func.count())
            .where(ev.store_id == store_id, ev.cart_id.in_(ids[i : i + IN_CHUNK]))
            .group_by(ev.cart_id, ev.event_type, ev.outcome)
        )
        if start_us is not None:
            query = query.where(ev.receive_time_us >= start_us)
        if end_us is not None:
            query = query.where(ev.receive_time_us < end_us)
        for cart_id, event_type, outcome, n in conn.execute(query):
            row = counts.setdefault(
                (str(cart_id), int(event_type)),
                admin_pb2.CartEventCount(cart_id=str(cart_id), event_type=int(event_type)),  # type: ignore[arg-type]
            )
            row.received += int(n)
            field = OUTCOME_FIELDS.get(str(outcome), "recorded")
            setattr(row, field, getattr(row, field) + int(n))
    return [counts[key] for key in sorted(counts)]
