"""Invalid traffic in the ledger: what ingest re-judges an upload against, and what it writes of it.

Reads the upload's carts' recent events and traffic classes (one read transaction per upload);
writes, in the ledger's transaction, the hourly invalid rollups and each edge's disagreements, so
both count every new invalid event exactly once, as billing does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud_core.events.ivt_check import HISTORY_TYPES, IvtContext, PastEvent
from cloud_core.events.ledger_math import INVALID_COUNTS, INVALID_KEY, invalid_rollup_rows
from cloud_core.events.outcomes import EventOutcome
from cloud_core.reports.invalid import InvalidQuery, invalid_delivery
from cloud_core.reports.metrics import Delivery
from cloud_core.storage import schema as t
from cloud_core.storage.sql.rows import chunks, upsert_adding


def read_ivt_context(
    conn: Connection, store_id: str, cart_ids: Sequence[str], since_us: int, credential_ids: Sequence[str] = ()
) -> IvtContext:
    """The carts' events received since ``since_us`` (dead letters aside), their traffic classes, and
    the store's credentials among ``credential_ids``."""
    ev, ca, cr = t.events.c, t.carts.c, t.cart_credentials.c
    credentials: dict[str, tuple[str, int, int]] = {}
    for part in chunks(credential_ids):
        query = sa.select(cr.credential_id, cr.cart_id, cr.create_time_us, cr.revoke_time_us).where(
            cr.store_id == store_id, cr.credential_id.in_(part)
        )
        credentials.update({str(r[0]): (str(r[1]), int(r[2]), int(r[3])) for r in conn.execute(query)})
    history: list[PastEvent] = []
    classes: dict[str, int] = {}
    for part in chunks(cart_ids):
        # The (store_id, cart_id, receive_time_us) index serves it: one range per cart.
        query = sa.select(
            ev.event_id, ev.event_type, ev.cart_id, ev.session_id, ev.ad_id, ev.receive_time_us, ev.invalid_rule
        ).where(
            ev.store_id == store_id,
            ev.cart_id.in_(part),
            ev.receive_time_us >= since_us,
            ev.event_type.in_(HISTORY_TYPES),
            ev.outcome != "rejected",
        )
        history.extend(PastEvent(r[0], int(r[1]), r[2], r[3], r[4], int(r[5]), int(r[6])) for r in conn.execute(query))
        carts = sa.select(ca.cart_id, ca.traffic_class).where(ca.store_id == store_id, ca.cart_id.in_(part))
        classes.update({str(cid): int(cls) for cid, cls in conn.execute(carts)})
    return IvtContext(tuple(history), classes, credentials)


def write_ivt(conn: Connection, store_id: str, edge_id: str, new: Iterable[EventOutcome], ingest_us: int) -> None:
    """In the ledger's transaction: the invalid rollups and the edge's disagreements of the newly
    recorded events."""
    fresh = list(new)
    rows = invalid_rollup_rows(store_id, fresh, ingest_us)
    upsert_adding(conn, t.invalid_rollups_hourly, INVALID_KEY, INVALID_COUNTS, rows)
    disagreements = sum(1 for o in fresh if o.ivt_disagrees and o.invalid_rule and not o.reject_reason)
    if disagreements:
        upsert_adding(
            conn,
            t.edge_ivt_disagreements,
            ("store_id", "edge_id"),
            ("events",),
            [{"store_id": store_id, "edge_id": edge_id, "events": disagreements}],
        )


def edge_disagreements(conn: Connection, store_id: str) -> dict[str, int]:
    """Edge id -> events it called valid and the cloud invalid traffic, for one store ("" for all)."""
    d = t.edge_ivt_disagreements.c
    query = sa.select(d.store_id, d.edge_id, d.events)
    if store_id:
        query = query.where(d.store_id == store_id)
    return {f"{r[0]}/{r[1]}": int(r[2]) for r in conn.execute(query)}


def read_invalid(conn: Connection, q: InvalidQuery) -> list[tuple[tuple[Any, ...], Delivery]]:
    """The invalid rollups' sums grouped by ``q.columns`` within its filter."""
    r = t.invalid_rollups_hourly.c
    f = q.where
    query = sa.select(*(r[c] for c in q.columns), *(sa.func.sum(r[c]) for c in INVALID_COUNTS)).where(
        r.hour_start_us >= f.start_us, r.hour_start_us < f.end_us
    )
    if f.advertiser_id:
        query = query.where(r.advertiser_id == f.advertiser_id)
    for name, values in (
        ("campaign_id", f.campaign_ids),
        ("line_item_id", f.line_item_ids),
        ("store_id", f.store_ids),
    ):
        if values:
            query = query.where(r[name].in_(sorted(set(values))))
    if q.rules:
        query = query.where(r.rule.in_(list(q.rules)))
    if q.columns:
        query = query.group_by(*(r[c] for c in q.columns))
    n = len(q.columns)
    return [(tuple(row[:n]), invalid_delivery(row[n:])) for row in conn.execute(query) if row[n] is not None]


def invalid_ad_events_by_campaign(conn: Connection, store_id: str) -> dict[str, int]:
    """Campaign id -> its invalid ad events (impressions, clicks, conversions) in ``store_id`` ("" for all)."""
    r = t.invalid_rollups_hourly.c
    total = sa.func.sum(r.impressions + r.clicks + r.conversions)
    query = sa.select(r.campaign_id, total).where(r.campaign_id != "").group_by(r.campaign_id)
    if store_id:
        query = query.where(r.store_id == store_id)
    return {str(cid): int(n or 0) for cid, n in conn.execute(query)}
