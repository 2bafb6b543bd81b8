"""SQLite rows for events, the billing ledger, spend rollups, dead letters and edge status."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Sequence
from typing import TypeVar

from google.protobuf.message import DecodeError

from cartads.v1 import admin_pb2, common_pb2
from cloud_core.billing import billing_key
from cloud_core.storage.protocol import DeadLetter, EventOutcome, IngestResult
from cloud_core.storage.sqlite_base import SqliteBase
from cloud_core.timeutil import now_us

_K = TypeVar("_K")
_IngestCall = tuple[str, str, Sequence[EventOutcome]]
# Uploads committed together hold at most this many events (beyond one larger upload).
_GROUP_MAX_EVENTS = 5_000


_HOUR_US = 3600 * 1_000_000


def _hour_start_us(time_us: int) -> int:
    return time_us - time_us % _HOUR_US


def _counts(o: EventOutcome) -> tuple[int, int, int, int]:
    """(impressions, clicks, conversions, spend) one billed event adds to its rollups."""
    t = o.event_type
    return (
        int(t == common_pb2.EVENT_TYPE_IMPRESSION),
        int(t == common_pb2.EVENT_TYPE_CLICK),
        int(t == common_pb2.EVENT_TYPE_CONVERSION),
        o.charge_micros,
    )


def _add(totals: dict[_K, list[int]], key: _K, counts: tuple[int, ...]) -> None:
    acc = totals.get(key)
    if acc is None:
        totals[key] = list(counts)
    else:
        for i, n in enumerate(counts):
            acc[i] += n


def _ledger_row(store_id: str, o: EventOutcome, now: int) -> tuple[object, ...]:
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
        now,
    )


# Well below SQLite's default limit of 32,766 bound parameters per statement.
_IN_CHUNK = 500


def _rows(conn: sqlite3.Connection, sql_prefix: str, values: list[str], *head: object) -> list[tuple[object, ...]]:
    """Rows of ``sql_prefix (?, ?, ...)`` for ``values``, queried in chunks."""
    out: list[tuple[object, ...]] = []
    for i in range(0, len(values), _IN_CHUNK):
        chunk = values[i : i + _IN_CHUNK]
        sql = f"{sql_prefix}({', '.join('?' * len(chunk))})"
        out.extend(tuple(r) for r in conn.execute(sql, (*head, *chunk)))
    return out


def _existing(conn: sqlite3.Connection, sql_prefix: str, store_id: str, event_ids: list[str]) -> set[str]:
    return {str(r[0]) for r in _rows(conn, sql_prefix, event_ids, store_id)}


def _campaign_spend(conn: sqlite3.Connection, campaign_id: str) -> int:
    row = conn.execute(
        "SELECT COALESCE(SUM(spend_micros), 0) FROM spend WHERE campaign_id = ?", (campaign_id,)
    ).fetchone()
    return int(row[0])


class SqliteLedgerMixin(SqliteBase):
    """Exactly-once billing: every upload is one transaction keyed on durable unique constraints."""

    def _record_in_tx(
        self, conn: sqlite3.Connection, store_id: str, edge_id: str, outcomes: Sequence[EventOutcome]
    ) -> IngestResult:
        """One upload, inside the caller's transaction: dedupe on (store_id, event_id), bill once per
        decision and kind, roll up.

        The transaction holds SQLite's write lock (BEGIN IMMEDIATE), so which ids and charges already
        exist is read once per batch and every row is written with executemany; spend and rollup
        deltas are summed per key and written once per key, in the same transaction.
        """
        billed = duplicate = recorded = rejected = 0
        ingest_us = now_us()
        event_rows: list[tuple[object, ...]] = []
        dead_rows: list[tuple[object, ...]] = []
        billed_rows: list[tuple[object, ...]] = []
        ledger_rows: list[tuple[object, ...]] = []
        spend: dict[tuple[str, str], list[int]] = {}
        rollups: dict[tuple[str, str, int], list[int]] = {}
        traffic: dict[int, int] = {}
        seen_ids = _existing(
            conn,
            "SELECT event_id FROM events WHERE store_id = ? AND event_id IN ",
            store_id,
            [o.event_id for o in outcomes if o.event_id],
        )
        keys = {o.event_id: billing_key(o.ad_id, o.event_type, o.product_id) for o in outcomes if o.billable}
        claimed = {
            (str(k), int(str(t)))
            for k, t in _rows(conn, "SELECT ad_id, event_type FROM billed_ads WHERE ad_id IN ", list(keys.values()))
        }
        for o in outcomes:
            if not o.event_id:
                # No identity to dedupe on: key the dead letter on the edge's sequence number instead.
                cur = conn.execute(
                    "INSERT OR IGNORE INTO dead_letters "
                    "(store_id, edge_id, seq, event_id, reason, event_blob, create_time_us) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (store_id, edge_id, o.seq, "", o.reject_reason or "missing event_id", o.event_blob, ingest_us),
                )
                rejected += cur.rowcount
                duplicate += 1 - cur.rowcount
                continue
            if o.event_id in seen_ids:
                duplicate += 1
                continue
            seen_ids.add(o.event_id)
            hour = _hour_start_us(o.receive_time_us or ingest_us)
            traffic[hour] = traffic.get(hour, 0) + 1
            charge = 0
            if o.reject_reason:
                outcome = "rejected"
                dead_rows.append((store_id, edge_id, o.seq, o.event_id, o.reject_reason, o.event_blob, ingest_us))
                rejected += 1
            elif o.billable and (keys[o.event_id], o.event_type) not in claimed:
                outcome, charge = "billed", o.charge_micros
                claimed.add((keys[o.event_id], o.event_type))
                billed_rows.append((keys[o.event_id], o.event_type, store_id, o.event_id))
                ledger_rows.append(_ledger_row(store_id, o, ingest_us))
                counts = _counts(o)
                _add(spend, (o.campaign_id, o.line_item_id), counts)
                _add(rollups, (o.campaign_id, o.line_item_id, hour), counts)
                billed += 1
            else:
                # A decision billed before for this kind (a second impression token use) costs nothing.
                outcome = "already_billed" if o.billable else "recorded"
                recorded += 1
            event_rows.append(
                (
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
                    outcome,
                    charge,
                    o.occur_time_us,
                    o.receive_time_us,
                    ingest_us,
                )
            )
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", event_rows)
        conn.executemany(
            "INSERT OR IGNORE INTO dead_letters "
            "(store_id, edge_id, seq, event_id, reason, event_blob, create_time_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
            dead_rows,
        )
        conn.executemany("INSERT INTO billed_ads VALUES (?, ?, ?, ?)", billed_rows)
        campaign_ids = {cid for cid, _ in spend}
        spend_before = {cid: _campaign_spend(conn, cid) for cid in campaign_ids}
        self._write_rollups(conn, store_id, ledger_rows=ledger_rows, spend=spend, rollups=rollups, traffic=traffic)
        exhausted = frozenset(
            cid for cid in campaign_ids if spend_before[cid] < self._budget(conn, cid) <= _campaign_spend(conn, cid)
        )
        return IngestResult(billed, duplicate, recorded, rejected, exhausted)

    @staticmethod
    def _write_rollups(
        conn: sqlite3.Connection,
        store_id: str,
        *,
        ledger_rows: list[tuple[object, ...]],
        spend: dict[tuple[str, str], list[int]],
        rollups: dict[tuple[str, str, int], list[int]],
        traffic: dict[int, int],
    ) -> None:
        conn.executemany(
            "INSERT INTO ledger (store_id, event_id, ad_id, event_type, advertiser_id, campaign_id, line_item_id, "
            "pricing_model, charge_micros, create_time_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ledger_rows,
        )
        conn.executemany(
            "INSERT INTO spend (store_id, campaign_id, line_item_id, impressions, clicks, conversions, spend_micros) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, campaign_id, line_item_id) DO UPDATE SET "
            "impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks, "
            "conversions = conversions + excluded.conversions, spend_micros = spend_micros + excluded.spend_micros",
            [(store_id, cid, lid, *c) for (cid, lid), c in spend.items()],
        )
        conn.executemany(
            "INSERT INTO hourly_rollups (campaign_id, line_item_id, store_id, hour_start_us, impressions, clicks, "
            "conversions, spend_micros) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (campaign_id, line_item_id, store_id, hour_start_us) DO UPDATE SET "
            "impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks, "
            "conversions = conversions + excluded.conversions, spend_micros = spend_micros + excluded.spend_micros",
            [(cid, lid, store_id, hour, *c) for (cid, lid, hour), c in rollups.items()],
        )
        conn.executemany(
            "INSERT INTO store_traffic_hourly (store_id, hour_start_us, events) VALUES (?, ?, ?) "
            "ON CONFLICT (store_id, hour_start_us) DO UPDATE SET events = events + excluded.events",
            [(store_id, hour, n) for hour, n in traffic.items()],
        )

    @staticmethod
    def _budget(conn: sqlite3.Connection, campaign_id: str) -> int:
        row = conn.execute("SELECT budget_micros FROM campaigns WHERE campaign_id = ?", (campaign_id,)).fetchone()
        # A deleted campaign has no budget left to exhaust; never report it.
        return int(row[0]) if row is not None else -1

    def _record_group(self, calls: Sequence[_IngestCall]) -> list[IngestResult]:
        """Several uploads in one transaction: one commit (one fsync) for all of them."""
        with self._tx() as conn:
            return [self._record_in_tx(conn, *call) for call in calls]

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
            try:
                results = await self._run(self._record_group, [call for call, _ in group])
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
        def _report() -> list[admin_pb2.CampaignSpend]:
            sql = (
                "SELECT c.campaign_id, c.advertiser_id, c.display_name, c.budget_micros, "
                "COALESCE(SUM(s.impressions), 0), COALESCE(SUM(s.clicks), 0), COALESCE(SUM(s.spend_micros), 0), "
                "COALESCE(SUM(s.conversions), 0) "
                "FROM campaigns c LEFT JOIN spend s ON s.campaign_id = c.campaign_id AND (? = '' OR s.store_id = ?) "
                "WHERE (? = '' OR c.advertiser_id = ?) GROUP BY c.campaign_id ORDER BY c.campaign_id"
            )
            rows = self.conn.execute(sql, (store_id, store_id, advertiser_id, advertiser_id)).fetchall()
            return [
                admin_pb2.CampaignSpend(
                    campaign_id=r[0],
                    advertiser_id=r[1],
                    display_name=r[2],
                    budget_micros=r[3],
                    impressions=r[4],
                    clicks=r[5],
                    spend_micros=r[6],
                    conversions=r[7],
                )
                for r in rows
            ]

        return await self._run(_report)

    async def dead_letters(self, store_id: str, after_id: int = 0, limit: int = 0) -> list[DeadLetter]:
        def _list() -> list[DeadLetter]:
            rows = self.conn.execute(
                "SELECT store_id, edge_id, seq, event_id, reason, dead_letter_id, event_blob, create_time_us "
                "FROM dead_letters WHERE store_id = ? AND dead_letter_id > ? ORDER BY dead_letter_id LIMIT ?",
                (store_id, after_id, limit if limit > 0 else -1),
            )
            out = []
            for r in rows:
                event = common_pb2.CartEvent()
                with contextlib.suppress(DecodeError):
                    event.ParseFromString(r[6])
                out.append(
                    DeadLetter(str(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4]), int(r[5]), event.type, int(r[7]))
                )
            return out

        return await self._run(_list)

    async def store_traffic(self, since_us: int) -> dict[str, int]:
        """Events recorded per store since ``since_us`` (hour granularity), for budget lease shares."""

        def _sum() -> dict[str, int]:
            rows = self.conn.execute(
                "SELECT store_id, SUM(events) FROM store_traffic_hourly WHERE hour_start_us >= ? GROUP BY store_id",
                (_hour_start_us(since_us),),
            )
            return {str(r[0]): int(r[1]) for r in rows}

        return await self._run(_sum)
