"""SQLite rows for events, the billing ledger, spend rollups, dead letters and edge status."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from cartads.v1 import admin_pb2, common_pb2
from cloud_core.storage.protocol import DeadLetter, EdgeStatus, EventOutcome, IngestResult
from cloud_core.storage.sqlite_base import SqliteBase
from cloud_core.timeutil import now_us


def _campaign_spend(conn: sqlite3.Connection, campaign_id: str) -> int:
    row = conn.execute(
        "SELECT COALESCE(SUM(spend_micros), 0) FROM spend WHERE campaign_id = ?", (campaign_id,)
    ).fetchone()
    return int(row[0])


class SqliteLedgerMixin(SqliteBase):
    """Exactly-once billing: every upload is one transaction keyed on durable unique constraints."""

    def _record_events(self, store_id: str, edge_id: str, outcomes: Sequence[EventOutcome]) -> IngestResult:
        billed = duplicate = recorded = rejected = 0
        spend_before: dict[str, int] = {}
        ingest_us = now_us()
        with self._tx() as conn:
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
                outcome = "rejected" if o.reject_reason else ("billed" if o.billable else "recorded")
                cur = conn.execute(
                    "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                        o.charge_micros if o.billable else 0,
                        o.occur_time_us,
                        o.receive_time_us,
                        ingest_us,
                    ),
                )
                if cur.rowcount == 0:
                    duplicate += 1
                elif o.reject_reason:
                    conn.execute(
                        "INSERT OR IGNORE INTO dead_letters "
                        "(store_id, edge_id, seq, event_id, reason, event_blob, create_time_us) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (store_id, edge_id, o.seq, o.event_id, o.reject_reason, o.event_blob, ingest_us),
                    )
                    rejected += 1
                elif o.billable and self._bill(conn, store_id, o, ingest_us, spend_before):
                    billed += 1
                else:
                    recorded += 1
            exhausted = frozenset(
                cid
                for cid, before in spend_before.items()
                if before < self._budget(conn, cid) <= _campaign_spend(conn, cid)
            )
        return IngestResult(billed, duplicate, recorded, rejected, exhausted)

    @staticmethod
    def _budget(conn: sqlite3.Connection, campaign_id: str) -> int:
        row = conn.execute("SELECT budget_micros FROM campaigns WHERE campaign_id = ?", (campaign_id,)).fetchone()
        # A deleted campaign has no budget left to exhaust; never report it.
        return int(row[0]) if row is not None else -1

    @staticmethod
    def _bill(conn: sqlite3.Connection, store_id: str, o: EventOutcome, now: int, spend_before: dict[str, int]) -> bool:
        """Charge one ad event unless this decision was already billed for this kind; True if billed."""
        cur = conn.execute(
            "INSERT OR IGNORE INTO billed_ads VALUES (?, ?, ?, ?)", (o.ad_id, o.event_type, store_id, o.event_id)
        )
        if cur.rowcount == 0:
            conn.execute(
                "UPDATE events SET outcome = 'already_billed', charge_micros = 0 WHERE store_id = ? AND event_id = ?",
                (store_id, o.event_id),
            )
            return False
        if o.campaign_id not in spend_before:
            spend_before[o.campaign_id] = _campaign_spend(conn, o.campaign_id)
        conn.execute(
            "INSERT INTO ledger (store_id, event_id, ad_id, event_type, advertiser_id, campaign_id, line_item_id, "
            "pricing_model, charge_micros, create_time_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
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
            ),
        )
        is_click = int(o.event_type == common_pb2.EVENT_TYPE_CLICK)
        conn.execute(
            "INSERT INTO spend (store_id, campaign_id, line_item_id, impressions, clicks, spend_micros) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, campaign_id, line_item_id) DO UPDATE SET "
            "impressions = impressions + excluded.impressions, clicks = clicks + excluded.clicks, "
            "spend_micros = spend_micros + excluded.spend_micros",
            (store_id, o.campaign_id, o.line_item_id, 1 - is_click, is_click, o.charge_micros),
        )
        return True

    async def record_events(self, store_id: str, edge_id: str, outcomes: Sequence[EventOutcome]) -> IngestResult:
        return await self._run(self._record_events, store_id, edge_id, outcomes)

    async def spend_report(self, store_id: str, advertiser_id: str) -> list[admin_pb2.CampaignSpend]:
        def _report() -> list[admin_pb2.CampaignSpend]:
            sql = (
                "SELECT c.campaign_id, c.advertiser_id, c.display_name, c.budget_micros, "
                "COALESCE(SUM(s.impressions), 0), COALESCE(SUM(s.clicks), 0), COALESCE(SUM(s.spend_micros), 0) "
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
                )
                for r in rows
            ]

        return await self._run(_report)

    async def dead_letters(self, store_id: str) -> list[DeadLetter]:
        def _list() -> list[DeadLetter]:
            rows = self.conn.execute(
                "SELECT store_id, edge_id, seq, event_id, reason FROM dead_letters WHERE store_id = ? "
                "ORDER BY dead_letter_id",
                (store_id,),
            )
            return [DeadLetter(str(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4])) for r in rows]

        return await self._run(_list)

    async def record_edge_status(self, status: EdgeStatus) -> None:
        def _upsert() -> None:
            s = status
            ack_us = s.seen_time_us if s.acked is True else 0
            nack_us = s.seen_time_us if s.acked is False else 0
            with self._tx() as conn:
                conn.execute(
                    "INSERT INTO edges VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, edge_id) DO UPDATE SET "
                    "applied_version = excluded.applied_version, last_nonce = excluded.last_nonce, "
                    "last_ack_time_us = MAX(last_ack_time_us, excluded.last_ack_time_us), "
                    "last_nack_time_us = MAX(last_nack_time_us, excluded.last_nack_time_us), "
                    "last_error = excluded.last_error, last_seen_us = excluded.last_seen_us",
                    (
                        s.store_id,
                        s.edge_id,
                        s.applied_version,
                        s.last_nonce,
                        ack_us,
                        nack_us,
                        s.last_error,
                        s.seen_time_us,
                    ),
                )

        await self._run(_upsert)

    async def edge_statuses(self, store_id: str) -> list[EdgeStatus]:
        def _list() -> list[EdgeStatus]:
            rows = self.conn.execute(
                "SELECT edge_id, applied_version, last_nonce, last_error, last_ack_time_us, last_nack_time_us, "
                "last_seen_us FROM edges WHERE store_id = ? ORDER BY edge_id",
                (store_id,),
            )
            out = []
            for edge_id, version, nonce, error, ack_us, nack_us, seen_us in rows:
                acked = None if not (ack_us or nack_us) else ack_us >= nack_us
                out.append(EdgeStatus(store_id, edge_id, version, nonce, error, acked, seen_us))
            return out

        return await self._run(_list)
