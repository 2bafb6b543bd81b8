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

from cartads.v1 import common_pb2
from cloud_core.events.ivt_check import HistoryNeeds, IvtContext, PastEvent, WindowBucket
from cloud_core.events.ledger_math import INVALID_COUNTS, INVALID_KEY, invalid_rollup_rows
from cloud_core.events.outcomes import EventOutcome
from cloud_core.reports.invalid import InvalidQuery, invalid_delivery
from cloud_core.reports.metrics import Delivery
from cloud_core.storage import schema as t
from cloud_core.storage.sql.rows import chunks, upsert_adding

_MINUTE_US = 60_000_000


IMPRESSION = common_pb2.EVENT_TYPE_IMPRESSION
CLICK = common_pb2.EVENT_TYPE_CLICK
CONVERSION = common_pb2.EVENT_TYPE_CONVERSION
BASKET_ADD = common_pb2.EVENT_TYPE_BASKET_ADD


def _trip_counts(conn: Connection, store_id: str, needs: HistoryNeeds) -> list[PastEvent]:
    """Valid impressions and clicks of the needs' ads, and clicks and conversions, per trip."""
    ev = t.events.c
    trips = set(needs.trips)
    out: list[PastEvent] = []
    carts = sorted({cart for cart, _ in trips})
    sessions = sorted({session for _, session in trips})
    for cart_part in chunks(carts):
        for session_part in chunks(sessions):
            for ad_part in list(chunks(list(needs.ad_ids))) or [[]]:
                of_ads = sa.and_(ev.event_type == IMPRESSION, ev.ad_id.in_(ad_part))
                query = (
                    sa.select(ev.cart_id, ev.session_id, ev.event_type, ev.ad_id, sa.func.count())
                    .where(
                        ev.store_id == store_id,
                        ev.cart_id.in_(cart_part),
                        ev.session_id.in_(session_part),
                        ev.receive_time_us >= needs.since_us,
                        ev.invalid_rule == 0,
                        ev.outcome != "rejected",
                        sa.or_(ev.event_type.in_((CLICK, CONVERSION)), of_ads),
                        ev.event_id.not_in(list(needs.event_ids)),
                    )
                    .group_by(ev.cart_id, ev.session_id, ev.event_type, ev.ad_id)
                )
                for cart, session, kind, ad_id, n in conn.execute(query):
                    if (cart, session) in trips:
                        out.append(PastEvent("", int(kind), str(cart), str(session), str(ad_id), 0, 0, int(n)))
    return out


def _invalid_adds(conn: Connection, store_id: str, add_ids: Sequence[str]) -> list[PastEvent]:
    ev = t.events.c
    out: list[PastEvent] = []
    for part in chunks(add_ids):
        query = sa.select(ev.event_id, ev.cart_id, ev.session_id, ev.invalid_rule).where(
            ev.store_id == store_id, ev.event_id.in_(part), ev.invalid_rule != 0
        )
        out.extend(
            PastEvent(str(r[0]), BASKET_ADD, str(r[1]), str(r[2]), "", 0, int(r[3])) for r in conn.execute(query)
        )
    return out


def _windows(conn: Connection, store_id: str, needs: HistoryNeeds) -> list[WindowBucket]:
    """The carts' valid impressions and clicks per minute over the needs' window range."""
    ev = t.events.c
    minute = ev.receive_time_us - ev.receive_time_us % _MINUTE_US
    counts: dict[tuple[str, int], list[int]] = {}
    for part in chunks(list(needs.window_cart_ids)):
        query = (
            sa.select(ev.cart_id, minute, ev.event_type, sa.func.count())
            .where(
                ev.store_id == store_id,
                ev.cart_id.in_(part),
                ev.event_type.in_((IMPRESSION, CLICK)),
                ev.receive_time_us >= needs.window_from_us,
                ev.receive_time_us <= needs.window_to_us,
                ev.invalid_rule == 0,
                ev.outcome != "rejected",
                ev.event_id.not_in(list(needs.event_ids)),
            )
            .group_by(ev.cart_id, minute, ev.event_type)
        )
        for cart, start_us, kind, n in conn.execute(query):
            acc = counts.setdefault((str(cart), int(start_us)), [0, 0])
            acc[int(kind) == CLICK] += int(n)
    return [WindowBucket(cart, start, imps, clicks) for (cart, start), (imps, clicks) in counts.items()]


def read_ivt_context(conn: Connection, store_id: str, needs: HistoryNeeds) -> IvtContext:
    """What ``needs`` names of the ledger: trip counts, invalid basket adds, click-rate windows, the
    carts' traffic classes and the store's credentials among those named. Every read is bounded by
    the upload (its trips, ads, adds and click times), never by how much a cart did before."""
    ca, cr = t.carts.c, t.cart_credentials.c
    classes: dict[str, int] = {}
    for part in chunks(list(needs.cart_ids)):
        carts = sa.select(ca.cart_id, ca.traffic_class).where(ca.store_id == store_id, ca.cart_id.in_(part))
        classes.update({str(cid): int(cls) for cid, cls in conn.execute(carts)})
    credentials: dict[str, tuple[str, int, int]] = {}
    for part in chunks(list(needs.credential_ids)):
        query = sa.select(cr.credential_id, cr.cart_id, cr.create_time_us, cr.revoke_time_us).where(
            cr.store_id == store_id, cr.credential_id.in_(part)
        )
        credentials.update({str(r[0]): (str(r[1]), int(r[2]), int(r[3])) for r in conn.execute(query)})
    history = _trip_counts(conn, store_id, needs) if needs.trips else []
    history += _invalid_adds(conn, store_id, needs.add_ids) if needs.add_ids else []
    windows = _windows(conn, store_id, needs) if needs.window_cart_ids else []
    return IvtContext(tuple(history), tuple(windows), classes, credentials)


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
