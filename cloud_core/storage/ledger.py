"""Events, the billing ledger, spend rollups and dead letters: exactly-once ingest on both engines.

Exactly-once rests on unique keys, never on reading first: an event is new when its
``INSERT ... ON CONFLICT (store_id, event_id) DO NOTHING`` inserts it, a decision is billed when
its ``billed_ads`` claim inserts, and rollups add with ``x = x + excluded.x``. So two replicas
writing one PostgreSQL at once (or the same batch uploaded to both) still record and bill each
event once: the second insert of a key waits for the first transaction and then does nothing.
Rows are written in key order, so concurrent transactions lock them in the same order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Mapping, Sequence
from typing import TypeVar

import sqlalchemy as sa
from google.protobuf.message import DecodeError
from sqlalchemy.engine import Connection

from cartads.time_units import hour_start_us, now_us
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.events.billing import billing_key
from cloud_core.storage import schema as t
from cloud_core.storage.db import insert, insert_rows, upsert_adding
from cloud_core.storage.pacing_stats import write_trigger_rollups
from cloud_core.storage.protocol import DeadLetter, EventOutcome, IngestResult
from cloud_core.storage.reports import write_report_rollups
from cloud_core.storage.store_base import IN_CHUNK, DatabaseMixin

_K = TypeVar("_K")
_IngestCall = tuple[str, str, Sequence[EventOutcome]]
# Uploads committed together hold at most this many events (beyond one larger upload).
_GROUP_MAX_EVENTS = 5_000

_COUNT_COLUMNS = ("impressions", "clicks", "conversions", "spend_micros")


def _counts(o: EventOutcome) -> tuple[int, int, int, int]:
    """(impressions, clicks, conversions, spend) one billed event adds to its rollups."""
    kind = o.event_type
    return (
        int(kind == common_pb2.EVENT_TYPE_IMPRESSION),
        int(kind == common_pb2.EVENT_TYPE_CLICK),
        int(kind == common_pb2.EVENT_TYPE_CONVERSION),
        o.charge_micros,
    )


def _add(totals: dict[_K, list[int]], key: _K, counts: tuple[int, ...]) -> None:
    acc = totals.get(key)
    if acc is None:
        totals[key] = list(counts)
    else:
        for i, n in enumerate(counts):
            acc[i] += n


def _add_counts(conn: Connection, table: sa.Table, key: Sequence[str], rows: list[dict[str, object]]) -> None:
    """Upsert ``rows``, adding their count columns to an existing row's (atomic, never read-then-write)."""
    counts = [c.name for c in table.columns if c.name in {*_COUNT_COLUMNS, "events"}]
    upsert_adding(conn, table, key, counts, rows)


def _campaign_spend(conn: Connection, campaign_ids: Sequence[str]) -> dict[str, int]:
    sp = t.spend.c
    query = (
        sa.select(sp.campaign_id, sa.func.coalesce(sa.func.sum(sp.spend_micros), 0))
        .where(sp.campaign_id.in_(list(campaign_ids)))
        .group_by(sp.campaign_id)
    )
    return {str(cid): int(total) for cid, total in conn.execute(query)}


def _budgets(conn: Connection, campaign_ids: Sequence[str]) -> dict[str, int]:
    c = t.campaigns.c
    query = sa.select(c.campaign_id, c.budget_micros).where(c.campaign_id.in_(list(campaign_ids)))
    return {str(cid): int(budget) for cid, budget in conn.execute(query)}


def _dead_letter_unidentified(
    conn: Connection, store_id: str, edge_id: str, outcomes: Sequence[EventOutcome], ingest_us: int
) -> tuple[int, int]:
    """Events without an id: no identity to dedupe on, so the dead letter is keyed on the edge's seq.

    Returns (rejected, duplicate) counts."""
    rejected = duplicate = 0
    for o in outcomes:
        if o.event_id:
            continue
        dead = insert(conn, t.dead_letters).values(
            store_id=store_id,
            edge_id=edge_id,
            seq=o.seq,
            event_id="",
            reason=o.reject_reason or "missing event_id",
            event_blob=o.event_blob,
            create_time_us=ingest_us,
        )
        new_letter = len(conn.execute(dead.on_conflict_do_nothing().returning(t.dead_letters.c.seq)).all())
        rejected += new_letter
        duplicate += 1 - new_letter
    return rejected, duplicate


# Column orders of the value tuples ingest inserts with ``insert_rows``.
_EVENT_COLUMNS = (
    "store_id",
    "event_id",
    "edge_id",
    "seq",
    "event_type",
    "cart_id",
    "session_id",
    "ad_id",
    "campaign_id",
    "line_item_id",
    "outcome",
    "charge_micros",
    "occur_time_us",
    "receive_time_us",
    "ingest_time_us",
)
_CLAIM_COLUMNS = ("ad_id", "event_type", "store_id", "event_id")
_LEDGER_COLUMNS = (
    "store_id",
    "event_id",
    "ad_id",
    "event_type",
    "advertiser_id",
    "campaign_id",
    "line_item_id",
    "pricing_model",
    "charge_micros",
    "create_time_us",
)


def _event_row(store_id: str, edge_id: str, o: EventOutcome, ingest_us: int) -> tuple[object, ...]:
    billed = o.billable and not o.reject_reason
    return (
        store_id,
        o.event_id,
        edge_id,
        o.seq,
        o.event_type,
        o.cart_id,
        o.session_id,
        o.ad_id,
        o.campaign_id,
        o.line_item_id,
        # Provisional for billable events: corrected when the decision turns out billed before.
        "rejected" if o.reject_reason else "billed" if billed else "recorded",
        o.charge_micros if billed else 0,
        o.occur_time_us,
        o.receive_time_us,
        ingest_us,
    )


def _ledger_row(store_id: str, o: EventOutcome, ingest_us: int) -> tuple[object, ...]:
    return (
        store_id,
        o.event_id,
        o.ad_id,
        o.event_type,
        o.advertiser_id,
        o.campaign_id,
        o.line_item_id,
        o.pricing_model,
        o.charge_micros,
        ingest_us,
    )


def _claim(conn: Connection, store_id: str, new: Sequence[EventOutcome], keys: Mapping[str, str]) -> list[EventOutcome]:
    """Claim each new billable event's decision and kind in billed_ads; the events that won their claim.

    Of two events claiming one decision, the first in ``new`` wins; the losers (a second use of an
    impression token) are re-marked as ``already_billed`` at no charge."""
    candidates = sorted(
        (o for o in new if o.billable and not o.reject_reason), key=lambda o: (keys[o.event_id], o.event_type)
    )
    claim_rows = [(keys[o.event_id], o.event_type, store_id, o.event_id) for o in candidates]
    won = set(
        insert_rows(
            conn, t.billed_ads, _CLAIM_COLUMNS, claim_rows, skip_existing=("ad_id", "event_type"), returning="event_id"
        )
    )
    lost = [o.event_id for o in candidates if o.event_id not in won]
    ev = t.events.c
    for i in range(0, len(lost), IN_CHUNK):
        conn.execute(
            sa.update(t.events)
            .where(ev.store_id == store_id, ev.event_id.in_(lost[i : i + IN_CHUNK]))
            .values(outcome="already_billed", charge_micros=0)
        )
    return [o for o in candidates if o.event_id in won]


def _roll_up(
    conn: Connection, store_id: str, new: Sequence[EventOutcome], billed: Sequence[EventOutcome], ingest_us: int
) -> dict[str, int]:
    """Ledger rows, spend, hourly rollups and store traffic of one upload; the spend added per campaign."""
    spend: dict[tuple[str, str], list[int]] = {}
    rollups: dict[tuple[str, str, int], list[int]] = {}
    traffic: dict[int, int] = {}
    for o in new:
        hour = hour_start_us(o.receive_time_us or ingest_us)
        traffic[hour] = traffic.get(hour, 0) + 1
    for o in billed:
        hour = hour_start_us(o.receive_time_us or ingest_us)
        counts = _counts(o)
        _add(spend, (o.campaign_id, o.line_item_id), counts)
        _add(rollups, (o.campaign_id, o.line_item_id, hour), counts)
    if billed:
        insert_rows(conn, t.ledger, _LEDGER_COLUMNS, [_ledger_row(store_id, o, ingest_us) for o in billed])
    _add_counts(
        conn,
        t.spend,
        ("store_id", "campaign_id", "line_item_id"),
        [
            {"store_id": store_id, "campaign_id": cid, "line_item_id": lid, **dict(zip(_COUNT_COLUMNS, c, strict=True))}
            for (cid, lid), c in spend.items()
        ],
    )
    _add_counts(
        conn,
        t.hourly_rollups,
        ("campaign_id", "line_item_id", "store_id", "hour_start_us"),
        [
            {
                "campaign_id": cid,
                "line_item_id": lid,
                "store_id": store_id,
                "hour_start_us": hour,
                **dict(zip(_COUNT_COLUMNS, c, strict=True)),
            }
            for (cid, lid, hour), c in rollups.items()
        ],
    )
    _add_counts(
        conn,
        t.store_traffic_hourly,
        ("store_id", "hour_start_us"),
        [{"store_id": store_id, "hour_start_us": hour, "events": n} for hour, n in traffic.items()],
    )
    # Reports by creative and experiment arm, and the trips experiment lift compares (issue 8, H4).
    write_report_rollups(conn, store_id, billed, [o for o in new if not o.reject_reason], ingest_us)
    # Learned click and conversion rates per trigger (issue 8, H3).
    write_trigger_rollups(conn, store_id, billed, ingest_us)
    added: dict[str, int] = {}
    for (cid, _), c in spend.items():
        added[cid] = added.get(cid, 0) + c[3]
    return added


def _exhausted(conn: Connection, added: Mapping[str, int]) -> frozenset[str]:
    """Campaigns whose spend crossed their budget with this upload's share (read after writing it)."""
    if not added:
        return frozenset()
    after = _campaign_spend(conn, sorted(added))
    # A deleted campaign has no budget left to exhaust; never report it.
    budgets = _budgets(conn, sorted(added))
    return frozenset(
        cid
        for cid, delta in added.items()
        if cid in budgets and after.get(cid, 0) - delta < budgets[cid] <= after.get(cid, 0)
    )


def record_in_tx(conn: Connection, store_id: str, edge_id: str, outcomes: Sequence[EventOutcome]) -> IngestResult:
    """One upload, inside the caller's write transaction: dedupe on (store_id, event_id), bill once per
    decision and kind, roll up spend, hourly rollups and store traffic in the same transaction."""
    ingest_us = now_us()
    rejected, duplicate = _dead_letter_unidentified(conn, store_id, edge_id, outcomes, ingest_us)
    # The first of several events with one id in this upload counts; the others are duplicates.
    firsts: dict[str, EventOutcome] = {}
    for o in outcomes:
        if o.event_id:
            if o.event_id in firsts:
                duplicate += 1
            else:
                firsts[o.event_id] = o
    event_rows = [_event_row(store_id, edge_id, o, ingest_us) for _, o in sorted(firsts.items())]
    new_ids = set(
        insert_rows(
            conn, t.events, _EVENT_COLUMNS, event_rows, skip_existing=("store_id", "event_id"), returning="event_id"
        )
    )
    duplicate += len(firsts) - len(new_ids)
    # In upload order: of two events claiming one decision, the first uploaded is billed.
    new = [o for o in firsts.values() if o.event_id in new_ids]
    dead_rows = [
        {
            "store_id": store_id,
            "edge_id": edge_id,
            "seq": o.seq,
            "event_id": o.event_id,
            "reason": o.reject_reason,
            "event_blob": o.event_blob,
            "create_time_us": ingest_us,
        }
        for o in new
        if o.reject_reason
    ]
    if dead_rows:
        conn.execute(insert(conn, t.dead_letters).on_conflict_do_nothing(), dead_rows)
    keys = {o.event_id: billing_key(o.ad_id, o.event_type, o.product_id) for o in new if o.billable}
    billed = _claim(conn, store_id, new, keys)
    exhausted = _exhausted(conn, _roll_up(conn, store_id, new, billed, ingest_us))
    recorded = len(new) - len(billed) - len(dead_rows)
    return IngestResult(len(billed), duplicate, recorded, rejected + len(dead_rows), exhausted)


class LedgerMixin(DatabaseMixin):
    """Exactly-once billing: every upload is one transaction keyed on durable unique constraints."""

    def _record_group(self, conn: Connection, calls: Sequence[_IngestCall]) -> list[IngestResult]:
        """Several uploads in one transaction: one commit (one fsync) for all of them."""
        return [record_in_tx(conn, *call) for call in calls]

    async def record_events(self, store_id: str, edge_id: str, outcomes: Sequence[EventOutcome]) -> IngestResult:
        """Record one upload; concurrent uploads (several edges) are group-committed together."""
        pending = self.__dict__.setdefault("_ingest_pending", [])
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        pending.append(((store_id, edge_id, outcomes), future))
        writer: asyncio.Task[None] | None = self.__dict__.get("_ingest_writer")
        if writer is None or writer.done():
            self.__dict__["_ingest_writer"] = asyncio.create_task(self._drain_ingest(pending))
        return await future

    async def _drain_ingest(self, pending: list[tuple[_IngestCall, asyncio.Future[IngestResult]]]) -> None:
        while pending:
            cut = events = 0
            for call, _ in pending:
                if cut and events + len(call[2]) > _GROUP_MAX_EVENTS:
                    break
                cut += 1
                events += len(call[2])
            group = pending[:cut]
            del pending[:cut]
            calls = [call for call, _ in group]
            try:
                results = await self.db.write(functools.partial(self._record_group, calls=calls))
            except Exception as exc:
                # Nothing of the group committed: every upload fails and is retried by its edge.
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def spend_report(self, store_id: str, advertiser_id: str) -> list[admin_pb2.CampaignSpend]:
        c, s = t.campaigns.c, t.spend.c
        on = s.campaign_id == c.campaign_id
        if store_id:
            on = sa.and_(on, s.store_id == store_id)

        def total(column: sa.Column[int]) -> sa.ColumnElement[int]:
            return sa.func.coalesce(sa.func.sum(column), 0)

        query = (
            sa.select(
                c.campaign_id,
                c.advertiser_id,
                c.display_name,
                c.budget_micros,
                total(s.impressions),
                total(s.clicks),
                total(s.spend_micros),
                total(s.conversions),
            )
            .select_from(t.campaigns.outerjoin(t.spend, on))
            .group_by(c.campaign_id, c.advertiser_id, c.display_name, c.budget_micros)
            .order_by(c.campaign_id)
        )
        if advertiser_id:
            query = query.where(c.advertiser_id == advertiser_id)
        rows = await self.db.read(lambda conn: list(conn.execute(query)))
        return [
            admin_pb2.CampaignSpend(
                campaign_id=r[0],
                advertiser_id=r[1],
                display_name=r[2],
                budget_micros=r[3],
                impressions=int(r[4]),
                clicks=int(r[5]),
                spend_micros=int(r[6]),
                conversions=int(r[7]),
            )
            for r in rows
        ]

    async def dead_letters(self, store_id: str, after_id: int = 0, limit: int = 0) -> list[DeadLetter]:
        d = t.dead_letters.c
        query = (
            sa.select(
                d.store_id, d.edge_id, d.seq, d.event_id, d.reason, d.dead_letter_id, d.event_blob, d.create_time_us
            )
            .where(d.store_id == store_id, d.dead_letter_id > after_id)
            .order_by(d.dead_letter_id)
        )
        if limit > 0:
            query = query.limit(limit)
        rows = await self.db.read(lambda conn: list(conn.execute(query)))
        out = []
        for r in rows:
            event = common_pb2.CartEvent()
            with contextlib.suppress(DecodeError):
                event.ParseFromString(bytes(r[6]))
            out.append(DeadLetter(r[0], r[1], int(r[2]), r[3], r[4], int(r[5]), event.type, int(r[7])))
        return out

    async def store_traffic(self, since_us: int) -> dict[str, int]:
        """Events recorded per store since ``since_us`` (hour granularity), for budget lease shares."""
        s = t.store_traffic_hourly.c
        query = (
            sa.select(s.store_id, sa.func.sum(s.events))
            .where(s.hour_start_us >= hour_start_us(since_us))
            .group_by(s.store_id)
        )
        rows = await self.db.read(lambda conn: list(conn.execute(query)))
        return {str(sid): int(n) for sid, n in rows}
