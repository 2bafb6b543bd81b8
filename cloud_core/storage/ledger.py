"""Events, the billing ledger, spend rollups and dead letters: exactly-once ingest on both engines.

Exactly-once rests on unique keys, never on reading first: an event is new when its
``INSERT ... ON CONFLICT (store_id, event_id) DO NOTHING`` inserts it, a decision is billed when
its ``billed_ads`` claim inserts, and rollups add with ``x = x + excluded.x``. So two replicas
writing one PostgreSQL at once (or the same batch uploaded to both) still record and bill each
event once: the second insert of a key waits for the first transaction and then does nothing.
Rows are written in key order, so concurrent transactions lock them in the same order.

What the rows hold is decided by the pure ``cloud_core.events.ledger_math``; this module reads,
calls it and writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import structlog
from google.protobuf.message import DecodeError
from sqlalchemy.engine import Connection

from cartads.group_commit import GroupCommitter
from cartads.ops.logs import clip
from cartads.rpc.errors import UnavailableError
from cartads.time_units import now_us
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.events.isolate import isolate
from cloud_core.events.ivt_check import HistoryNeeds, IvtContext
from cloud_core.events.ledger_math import (
    CLAIM_COLUMNS,
    COUNT_COLUMNS,
    EVENT_COLUMNS,
    LEDGER_COLUMNS,
    TRIGGER_COUNT_COLUMNS,
    billing_claims,
    event_rows,
    exhausted_campaigns,
    first_by_event_id,
    ingest_result,
    ledger_deltas,
    rejected_dead_letters,
    unidentified_dead_letters,
)
from cloud_core.events.outcomes import DeadLetter, EventOutcome, IngestResult
from cloud_core.storage import schema as t
from cloud_core.storage.ivt import invalid_ad_events_by_campaign, read_ivt_context, write_ivt
from cloud_core.storage.reports import count_cart_events, write_report_rollups
from cloud_core.storage.sql.database import Database, failure_text, is_data_error, is_transient_error
from cloud_core.storage.sql.rows import IN_CHUNK, insert, insert_rows, upsert_adding
from cloud_core.storage.trust.budget import cap_billed, record_over_delivery

# Uploads committed together hold at most this many events (beyond one larger upload).
GROUP_MAX_EVENTS = 5_000

log = structlog.get_logger("cloud.ledger")


@dataclass(frozen=True)
class Upload:
    """One edge's upload of assessed events."""

    store_id: str
    edge_id: str
    outcomes: Sequence[EventOutcome]


def _upload_size(upload: Upload) -> int:
    return len(upload.outcomes)


def _insert_unidentified(conn: Connection, rows: Sequence[dict[str, object]]) -> int:
    """Insert dead letters keyed on the edge's seq; how many were new (the others are duplicates)."""
    new = 0
    for row in rows:
        dead = insert(conn, t.dead_letters).values(**row)
        new += len(conn.execute(dead.on_conflict_do_nothing().returning(t.dead_letters.c.seq)).all())
    return new


def _claim(conn: Connection, store_id: str, new: Sequence[EventOutcome]) -> list[EventOutcome]:
    """Claim each new billable event's decision and kind in billed_ads; the events that won their claim.

    The losers (a second use of an impression token) are re-marked as ``already_billed`` at no charge."""
    claims = billing_claims(store_id, new)
    won = set(
        insert_rows(
            conn, t.billed_ads, CLAIM_COLUMNS, claims.rows, skip_existing=("ad_id", "event_type"), returning="event_id"
        )
    )
    lost = [o.event_id for o in claims.candidates if o.event_id not in won]
    ev = t.events.c
    for i in range(0, len(lost), IN_CHUNK):
        conn.execute(
            sa.update(t.events)
            .where(ev.store_id == store_id, ev.event_id.in_(lost[i : i + IN_CHUNK]))
            .values(outcome="already_billed", charge_micros=0)
        )
    return [o for o in claims.candidates if o.event_id in won]


def _spend_and_budgets(conn: Connection, campaign_ids: Sequence[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Each campaign's spend over all stores (as this transaction sees it), and its budget."""
    sp, c = t.spend.c, t.campaigns.c
    spend = (
        sa.select(sp.campaign_id, sa.func.coalesce(sa.func.sum(sp.spend_micros), 0))
        .where(sp.campaign_id.in_(list(campaign_ids)))
        .group_by(sp.campaign_id)
    )
    budgets = sa.select(c.campaign_id, c.budget_micros).where(c.campaign_id.in_(list(campaign_ids)))
    return (
        {str(cid): int(total) for cid, total in conn.execute(spend)},
        {str(cid): int(budget) for cid, budget in conn.execute(budgets)},
    )


def record_in_tx(conn: Connection, upload: Upload, ingest_us: int) -> IngestResult:
    """One upload, inside the caller's write transaction: dedupe on (store_id, event_id), bill once per
    decision and kind, roll up spend, hourly rollups and store traffic in the same transaction."""
    store_id, edge_id, outcomes = upload.store_id, upload.edge_id, upload.outcomes
    unidentified = unidentified_dead_letters(store_id, edge_id, outcomes, ingest_us)
    unidentified_new = _insert_unidentified(conn, unidentified)
    firsts, repeated = first_by_event_id(outcomes)
    new_ids = set(
        insert_rows(
            conn,
            t.events,
            EVENT_COLUMNS,
            event_rows(store_id, edge_id, firsts, ingest_us),
            skip_existing=("store_id", "event_id"),
            returning="event_id",
        )
    )
    # In upload order: of two events claiming one decision, the first uploaded is billed.
    new = [o for o in firsts.values() if o.event_id in new_ids]
    dead_rows = rejected_dead_letters(store_id, edge_id, new, ingest_us)
    if dead_rows:
        conn.execute(insert(conn, t.dead_letters).on_conflict_do_nothing(), dead_rows)
    # Claims are decided before budgets: an over-delivered decision is still used up.
    billed, over = cap_billed(conn, _claim(conn, store_id, new))
    record_over_delivery(conn, store_id, over)
    deltas = ledger_deltas(store_id, new, billed, ingest_us)
    if deltas.ledger_rows:
        insert_rows(conn, t.ledger, LEDGER_COLUMNS, deltas.ledger_rows)
    upsert_adding(conn, t.spend, ("store_id", "campaign_id", "line_item_id"), COUNT_COLUMNS, deltas.spend_rows)
    upsert_adding(
        conn,
        t.hourly_rollups,
        ("campaign_id", "line_item_id", "store_id", "hour_start_us"),
        COUNT_COLUMNS,
        deltas.hourly_rows,
    )
    upsert_adding(conn, t.store_traffic_hourly, ("store_id", "hour_start_us"), ("events",), deltas.traffic_rows)
    # Invalid traffic joins no trip: its sales are nobody's.
    valid = [o for o in new if not o.reject_reason and not o.invalid_rule]
    over_micros = {d.outcome.event_id: d.over_micros for d in over}
    write_report_rollups(conn, store_id, billed, valid, ingest_us, over_micros=over_micros)
    write_ivt(conn, store_id, edge_id, new, ingest_us)
    upsert_adding(
        conn,
        t.trigger_rollups_hourly,
        ("line_item_id", "trigger", "store_id", "hour_start_us"),
        TRIGGER_COUNT_COLUMNS,
        deltas.trigger_rows,
    )
    exhausted: frozenset[str] = frozenset()
    if deltas.added_spend:
        # Read after writing this upload's share, so the crossing is seen by exactly one upload.
        exhausted = exhausted_campaigns(deltas.added_spend, *_spend_and_budgets(conn, sorted(deltas.added_spend)))
    return ingest_result(
        unidentified=len(unidentified),
        unidentified_new=unidentified_new,
        repeated=repeated,
        firsts=len(firsts),
        new=new,
        billed=len(billed),
        exhausted=exhausted,
        over_delivered=len(over),
    )


def _record_group(conn: Connection, uploads: Sequence[Upload], ingest_us: int) -> list[IngestResult | Exception]:
    """Several uploads in one transaction: one commit (one fsync) for all of them."""
    return [record_in_tx(conn, upload, ingest_us) for upload in uploads]


def _dead_letter_alone(conn: Connection, upload: Upload, outcome: EventOutcome, reason: str, ingest_us: int) -> int:
    """The dead letter of an event the database refused; 1 when new, 0 when it was already there."""
    row = {
        "store_id": upload.store_id,
        "edge_id": upload.edge_id,
        "seq": outcome.seq,
        "event_id": outcome.event_id,
        "reason": reason,
        "event_blob": outcome.event_blob,
        "create_time_us": ingest_us,
        "reason_code": admin_pb2.DEAD_LETTER_REASON_INGEST_FAILURE,
        "signing_key_id": outcome.signing_key_id,
        "claimed_charge_micros": 0,
    }
    return _insert_unidentified(conn, [row])


def _share(invalid: int, valid: int) -> float:
    """invalid / (valid + invalid); 0 without either."""
    return invalid / (invalid + valid) if invalid + valid else 0.0


def _unavailable(error: BaseException) -> UnavailableError:
    return UnavailableError(f"the event store cannot write now ({type(error).__name__}); retry later")


class SqlLedger:
    """The LedgerStore Protocol: exactly-once billing, every group of uploads one transaction keyed on
    durable unique constraints; concurrent uploads (several edges) are group-committed together."""

    def __init__(self, db: Database, clock: Callable[[], int] = now_us) -> None:
        self._db = db
        self._clock = clock
        self._committer: GroupCommitter[Upload, IngestResult] = GroupCommitter(
            self._commit, size=_upload_size, max_group_size=GROUP_MAX_EVENTS, name="cloud-ledger-writer"
        )

    async def _commit(self, uploads: list[Upload]) -> list[IngestResult | Exception]:
        ingest_us = self._clock()
        try:
            return await self._db.write(functools.partial(_record_group, uploads=uploads, ingest_us=ingest_us))
        except Exception as error:
            # Nothing of a failed group committed. A database that is away fails every upload of it
            # (UNAVAILABLE: its edge resends); data one event made fail is isolated upload by upload.
            if is_transient_error(error):
                log.warning("ingest_unavailable", uploads=len(uploads), error=failure_text(error))
                return [_unavailable(error)] * len(uploads)
            if not is_data_error(error):
                raise
            log.warning("ingest_group_failed", uploads=len(uploads), error=failure_text(error))
        return [await self._isolated(upload, ingest_us) for upload in uploads]

    async def _isolated(self, upload: Upload, ingest_us: int) -> IngestResult | Exception:
        """``upload`` on its own, then in halves until each event the database refuses stands alone;
        those are dead-lettered one by one (each in its own transaction), the rest are recorded."""

        async def attempt(part: Sequence[EventOutcome]) -> IngestResult:
            alone = Upload(upload.store_id, upload.edge_id, part)
            return await self._db.write(functools.partial(record_in_tx, upload=alone, ingest_us=ingest_us))

        try:
            results, poison = await isolate(upload.outcomes, attempt, is_data_error)
            dead_new = 0
            for outcome, error in poison:
                reason = f"ingest failure: {failure_text(error)}"
                dead_new += await self._dead_letter(upload, outcome, reason, ingest_us)
                log.error(
                    "ingest_isolated",
                    store_id=upload.store_id,
                    edge_id=upload.edge_id,
                    seq=outcome.seq,
                    event_id=clip(outcome.event_id),
                    reason=reason,
                )
        except Exception as error:
            return _unavailable(error) if is_transient_error(error) else error
        return IngestResult.combined(results, dead_new=dead_new, dead_again=len(poison) - dead_new)

    async def _dead_letter(self, upload: Upload, outcome: EventOutcome, reason: str, ingest_us: int) -> int:
        """Dead-letter one event the database refused, in its own transaction; 1 when new."""
        try:
            return await self._db.write(
                functools.partial(
                    _dead_letter_alone, upload=upload, outcome=outcome, reason=reason, ingest_us=ingest_us
                )
            )
        except Exception as error:
            if not is_data_error(error):
                raise
        # Not even its id can be stored (a NUL in PostgreSQL text): keyed on the edge's seq alone.
        bare = dataclasses.replace(outcome, event_id="")
        return await self._db.write(
            functools.partial(_dead_letter_alone, upload=upload, outcome=bare, reason=reason, ingest_us=ingest_us)
        )

    async def record_events(self, store_id: str, edge_id: str, outcomes: Sequence[EventOutcome]) -> IngestResult:
        """Record one upload once it committed with the uploads pending beside it."""
        return await self._committer.submit(Upload(store_id, edge_id, outcomes))

    async def ivt_context(self, store_id: str, needs: HistoryNeeds) -> IvtContext:
        """What ``needs`` names of the ledger, to re-judge an upload by (one read snapshot)."""
        return await self._db.read(functools.partial(read_ivt_context, store_id=store_id, needs=needs))

    async def close(self) -> None:
        """Let the uploads being recorded commit, and refuse new ones."""
        await self._committer.close()

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
                total(s.over_delivery_micros),
            )
            .select_from(t.campaigns.outerjoin(t.spend, on))
            .group_by(c.campaign_id, c.advertiser_id, c.display_name, c.budget_micros)
            .order_by(c.campaign_id)
        )
        if advertiser_id:
            query = query.where(c.advertiser_id == advertiser_id)
        rows, invalid = await self._db.read(
            lambda conn: (list(conn.execute(query)), invalid_ad_events_by_campaign(conn, store_id))
        )
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
                over_delivery_micros=int(r[8]),
                invalid_events=invalid.get(r[0], 0),
                invalid_traffic_rate=_share(invalid.get(r[0], 0), int(r[4]) + int(r[5]) + int(r[7])),
            )
            for r in rows
        ]

    async def cart_event_counts(
        self, store_id: str, cart_ids: Sequence[str], start_us: int | None = None, end_us: int | None = None
    ) -> list[admin_pb2.CartEventCount]:
        """Per cart and event type, the events received in [start_us, end_us) by what billing made of them."""
        return await self._db.read(
            functools.partial(count_cart_events, store_id=store_id, cart_ids=cart_ids, start_us=start_us, end_us=end_us)
        )

    async def dead_letters(
        self, store_id: str, after_id: int = 0, limit: int = 0, *, edge_id: str = "", reason_code: int = 0
    ) -> list[DeadLetter]:
        d = t.dead_letters.c
        query = (
            sa.select(
                d.store_id, d.edge_id, d.seq, d.event_id, d.reason, d.dead_letter_id, d.event_blob, d.create_time_us
            )
            .add_columns(d.reason_code, d.signing_key_id, d.claimed_charge_micros)
            .where(d.store_id == store_id, d.dead_letter_id > after_id)
            .order_by(d.dead_letter_id)
        )
        if edge_id:
            query = query.where(d.edge_id == edge_id)
        if reason_code:
            query = query.where(d.reason_code == reason_code)
        if limit > 0:
            query = query.limit(limit)
        rows = await self._db.read(lambda conn: list(conn.execute(query)))
        out = []
        for r in rows:
            event = common_pb2.CartEvent()
            with contextlib.suppress(DecodeError):
                event.ParseFromString(bytes(r[6]))
            out.append(
                DeadLetter(
                    r[0], r[1], int(r[2]), r[3], r[4], int(r[5]), event.type, int(r[7]), int(r[8]), r[9], int(r[10])
                )
            )
        return out
