"""Pacing and prediction statistics: the edges' request counts, rollups by trigger, controller state.

Request counts arrive as records in the edges' event uploads (edge_node/events/request_counts.py); a
record's id is inserted first with ON CONFLICT DO NOTHING, and only a record that inserts adds
its counts, in the same transaction, so a re-sent upload adds nothing (exactly once over the
uploader's at-least-once). Rollups by trigger and store traffic are written by the ledger's ingest
transaction (storage/ledger.py) for the events it records, so they are exactly once as billing is.
Controller states are written with a compare-and-set on their last update time, so two replicas
compiling one store at once step a rate once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cartads.time_units import hour_start_us, now_us, ts_to_us
from cartads.v1.request_counts_pb2 import RequestCounts
from cloud_core.delivery.pacing import ControllerState
from cloud_core.delivery.pacing_stats import PacingStatesSave, PacingStats, PacingStatsQuery
from cloud_core.delivery.predictions import Outcomes
from cloud_core.storage import schema as t
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import insert, upsert_adding


def _count_rows(
    store_id: str, counts: Sequence[RequestCounts]
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    requests: dict[tuple[int, int, int], list[int]] = {}
    line_items: dict[tuple[str, int], list[int]] = {}
    for record in counts:
        for row in record.rows:
            acc = requests.setdefault((ts_to_us(row.hour_start_time), row.trigger, row.no_fill_reason), [0, 0])
            acc[0] += max(0, row.requests)
            acc[1] += max(0, row.ads)
        for li in record.line_items:
            acc = line_items.setdefault((li.line_item_id, ts_to_us(li.hour_start_time)), [0, 0])
            acc[0] += max(0, li.ads)
            acc[1] += max(0, li.throttled)
    return (
        [
            {"store_id": store_id, "hour_start_us": h, "trigger": tr, "no_fill_reason": r, "requests": n, "ads": a}
            for (h, tr, r), (n, a) in requests.items()
        ],
        [
            {"store_id": store_id, "line_item_id": lid, "hour_start_us": h, "ads": a, "throttled": th}
            for (lid, h), (a, th) in line_items.items()
        ],
    )


def _load(conn: Connection, q: PacingStatsQuery) -> PacingStats:
    rc = t.request_counts_hourly.c
    requests_by_hour = {
        int(h): int(n)
        for h, n in conn.execute(
            sa.select(rc.hour_start_us, sa.func.sum(rc.requests))
            .where(rc.store_id == q.store_id, rc.hour_start_us >= hour_start_us(q.profile_since_us))
            .group_by(rc.hour_start_us)
        )
    }
    requests_by_store = {
        str(s): int(n)
        for s, n in conn.execute(
            sa.select(rc.store_id, sa.func.sum(rc.requests))
            .where(rc.hour_start_us >= hour_start_us(q.traffic_since_us))
            .group_by(rc.store_id)
        )
    }
    hr = t.hourly_rollups.c
    today = hr.hour_start_us >= hour_start_us(q.day_start_us)
    line_item_spend = {
        str(lid): int(n)
        for lid, n in conn.execute(
            sa.select(hr.line_item_id, sa.func.sum(hr.spend_micros))
            .where(hr.store_id == q.store_id, today)
            .group_by(hr.line_item_id)
        )
    }
    campaign_spend = {
        str(cid): int(n)
        for cid, n in conn.execute(
            sa.select(hr.campaign_id, sa.func.sum(hr.spend_micros)).where(today).group_by(hr.campaign_id)
        )
    }
    ps = t.pacing_state.c
    states = {
        str(key): ControllerState(float(rate), int(updated), int(spent), int(day))
        for key, rate, updated, spent, day in conn.execute(
            sa.select(ps.pacing_key, ps.rate, ps.updated_us, ps.spent_micros, ps.day_start_us).where(
                ps.store_id == q.store_id
            )
        )
    }
    tr = t.trigger_rollups_hourly.c
    outcomes: dict[str, dict[int, Outcomes]] = {}
    for lid, trigger, imps, clicks, convs in conn.execute(
        sa.select(
            tr.line_item_id,
            tr.trigger,
            sa.func.sum(tr.impressions),
            sa.func.sum(tr.clicks),
            sa.func.sum(tr.conversions),
        )
        .where(tr.hour_start_us >= hour_start_us(q.outcomes_since_us))
        .group_by(tr.line_item_id, tr.trigger)
    ):
        outcomes.setdefault(str(lid), {})[int(trigger)] = Outcomes(int(imps), int(clicks), int(convs))
    return PacingStats(requests_by_hour, requests_by_store, line_item_spend, campaign_spend, states, outcomes)


def _save_states(
    conn: Connection, store_id: str, stepped: Mapping[str, ControllerState], previous: Mapping[str, ControllerState]
) -> int:
    """Insert the new keys' states and compare-and-set the others; how many were written.

    Two statements for all keys (a compile steps hundreds), not one per key.
    """
    ps = t.pacing_state.c
    fresh: list[dict[str, Any]] = []
    seen: list[dict[str, Any]] = []
    for key, state in sorted(stepped.items()):
        values = {
            "store_id": store_id,
            "pacing_key": key,
            "rate": state.rate,
            "updated_us": state.updated_us,
            "spent_micros": state.spent_micros,
            "day_start_us": state.day_start_us,
        }
        before = previous.get(key)
        if before is None:
            fresh.append(values)
        else:
            seen.append({**{f"b_{k}": v for k, v in values.items()}, "b_before_us": before.updated_us})
    written = 0
    if fresh:
        stmt = insert(conn, t.pacing_state).on_conflict_do_nothing().returning(ps.pacing_key)
        written += len(conn.execute(stmt, fresh).all())
    if seen:
        # Compare-and-set: another replica that stepped this key since our read wins.
        cas = (
            sa.update(t.pacing_state)
            .where(
                ps.store_id == sa.bindparam("b_store_id"),
                ps.pacing_key == sa.bindparam("b_pacing_key"),
                ps.updated_us == sa.bindparam("b_before_us"),
            )
            .values(
                rate=sa.bindparam("b_rate"),
                updated_us=sa.bindparam("b_updated_us"),
                spent_micros=sa.bindparam("b_spent_micros"),
                day_start_us=sa.bindparam("b_day_start_us"),
            )
        )
        if conn.dialect.supports_sane_multi_rowcount:
            written += conn.execute(cas, seen).rowcount
        else:
            written += sum(conn.execute(cas, row).rowcount for row in seen)
    return written


def all_store_ids(conn: Connection) -> frozenset[str]:
    """The ids of every store."""
    return frozenset(conn.execute(sa.select(t.stores.c.store_id)).scalars())


class SqlPacingStats:
    """The PacingStatsStore Protocol, and the event traffic per store: everything the delivery
    inputs of a compile read and write (see the module docstring)."""

    def __init__(self, db: Database, clock: Callable[[], int] = now_us) -> None:
        self._db = db
        self._clock = clock

    async def record_request_counts(
        self, store_id: str, edge_id: str, records: Sequence[tuple[str, RequestCounts]]
    ) -> int:
        """Add each record (id, counts) not recorded before; returns how many were new."""
        received_us = self._clock()

        def _write(conn: Connection) -> int:
            rows = [
                {"store_id": store_id, "record_id": rid, "edge_id": edge_id, "create_time_us": received_us}
                for rid in sorted({rid for rid, _ in records})
            ]
            if not rows:
                return 0
            stmt = insert(conn, t.request_count_records).values(rows).on_conflict_do_nothing()
            fresh = set(conn.execute(stmt.returning(t.request_count_records.c.record_id)).scalars())
            request_rows, line_item_rows = _count_rows(store_id, [c for rid, c in records if rid in fresh])
            upsert_adding(
                conn,
                t.request_counts_hourly,
                ("store_id", "hour_start_us", "trigger", "no_fill_reason"),
                ("requests", "ads"),
                request_rows,
            )
            upsert_adding(
                conn,
                t.line_item_requests_hourly,
                ("store_id", "line_item_id", "hour_start_us"),
                ("ads", "throttled"),
                line_item_rows,
            )
            return len(fresh)

        return await self._db.write(_write)

    async def load_pacing_stats(self, query: PacingStatsQuery) -> PacingStats:
        """What the store's compile needs for pacing and predictions, from one snapshot."""
        return await self._db.read(lambda conn: _load(conn, query))

    async def save_pacing_states(
        self, store_id: str, stepped: Mapping[str, ControllerState], previous: Mapping[str, ControllerState]
    ) -> int:
        """Persist stepped controller states (compare-and-set on ``previous``); returns rows written."""
        if not stepped:
            return 0
        return await self._db.write(lambda conn: _save_states(conn, store_id, stepped, previous))

    async def save_pacing_states_many(self, saves: Sequence[PacingStatesSave]) -> int:
        """``save_pacing_states`` of many stores in one write transaction (one commit, not one per store)."""
        saves = [save for save in saves if save.stepped]
        if not saves:
            return 0
        return await self._db.write(
            lambda conn: sum(_save_states(conn, sv.store_id, sv.stepped, sv.previous) for sv in saves)
        )

    async def request_counts(self, store_id: str, since_us: int) -> dict[tuple[int, int, int], tuple[int, int]]:
        """(hour start, trigger, no-fill reason) -> (requests, ads) of one store since ``since_us``."""

        def _read(conn: Connection) -> dict[tuple[int, int, int], tuple[int, int]]:
            rc = t.request_counts_hourly.c
            query = sa.select(rc.hour_start_us, rc.trigger, rc.no_fill_reason, rc.requests, rc.ads).where(
                rc.store_id == store_id, rc.hour_start_us >= hour_start_us(since_us)
            )
            return {(int(h), int(tr), int(r)): (int(n), int(a)) for h, tr, r, n, a in conn.execute(query)}

        return await self._db.read(_read)

    async def line_item_request_counts(self, store_id: str, since_us: int) -> dict[tuple[str, int], tuple[int, int]]:
        """(line item, hour start) -> (ads, throttled) of one store since ``since_us``."""

        def _read(conn: Connection) -> dict[tuple[str, int], tuple[int, int]]:
            li = t.line_item_requests_hourly.c
            query = sa.select(li.line_item_id, li.hour_start_us, li.ads, li.throttled).where(
                li.store_id == store_id, li.hour_start_us >= hour_start_us(since_us)
            )
            return {(str(lid), int(h)): (int(a), int(th)) for lid, h, a, th in conn.execute(query)}

        return await self._db.read(_read)

    async def store_traffic(self, since_us: int) -> dict[str, int]:
        """Events recorded per store since ``since_us`` (hour granularity), for budget lease shares."""
        s = t.store_traffic_hourly.c
        query = (
            sa.select(s.store_id, sa.func.sum(s.events))
            .where(s.hour_start_us >= hour_start_us(since_us))
            .group_by(s.store_id)
        )
        rows = await self._db.read(lambda conn: list(conn.execute(query)))
        return {str(sid): int(n) for sid, n in rows}

    async def store_ids(self) -> frozenset[str]:
        """Every store's id: the stores a campaign's traffic is shared among."""
        return await self._db.read(all_store_ids)

    async def campaign_spend_since(self, campaign_id: str, since_us: int) -> dict[str, int]:
        """Per store, what the campaign was charged for events its edges received since ``since_us``
        (the spend the cloud has seen under a budget lease that started then). By the edge's receive
        time, as the edge counts its lease: a late upload of older events belongs to older leases."""
        ev = t.events.c
        query = (
            sa.select(ev.store_id, sa.func.sum(ev.charge_micros))
            # An event received since then was ingested since then too (the bound narrows the scan).
            .where(ev.campaign_id == campaign_id, ev.receive_time_us >= since_us, ev.ingest_time_us >= since_us)
            .group_by(ev.store_id)
        )
        rows = await self._db.read(lambda conn: list(conn.execute(query)))
        return {str(sid): int(n or 0) for sid, n in rows}
