"""Charging no campaign past its budget inside the ledger's transaction (``events.budget_cap``)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud_core.events.budget_cap import OverDelivery, cap_to_budgets
from cloud_core.events.outcomes import EventOutcome
from cloud_core.storage import schema as t
from cloud_core.storage.sql.rows import IN_CHUNK, upsert_adding

OVER_COLUMNS = ("over_delivery_micros", "over_delivered")


def cap_billed(conn: Connection, billed: Sequence[EventOutcome]) -> tuple[list[EventOutcome], list[OverDelivery]]:
    """``billed`` charged at most their campaigns' remaining budgets, and what was cut.

    The campaigns' rows are locked first (PostgreSQL; SQLite has one writer), so two replicas billing
    one campaign at once read each other's spend and never both spend its last micros."""
    campaign_ids = sorted({o.campaign_id for o in billed if o.charge_micros > 0})
    if not campaign_ids:
        return list(billed), []
    c, sp = t.campaigns.c, t.spend.c
    locked = sa.select(c.campaign_id, c.budget_micros).where(c.campaign_id.in_(campaign_ids)).with_for_update()
    budgets = {str(cid): int(b) for cid, b in conn.execute(locked)}
    spend = (
        sa.select(sp.campaign_id, sa.func.coalesce(sa.func.sum(sp.spend_micros), 0))
        .where(sp.campaign_id.in_(campaign_ids))
        .group_by(sp.campaign_id)
    )
    spent = {str(cid): int(total) for cid, total in conn.execute(spend)}
    return cap_to_budgets(billed, spent, budgets)


def record_over_delivery(conn: Connection, store_id: str, over: Sequence[OverDelivery]) -> None:
    """Mark the cut events and add what they would have cost to the spend rollup's over-delivery."""
    if not over:
        return
    ev = t.events.c
    by_charge: dict[int, list[str]] = {}
    for o in over:
        by_charge.setdefault(o.outcome.charge_micros, []).append(o.outcome.event_id)
    for charge, ids in by_charge.items():
        for i in range(0, len(ids), IN_CHUNK):
            conn.execute(
                sa.update(t.events)
                .where(ev.store_id == store_id, ev.event_id.in_(ids[i : i + IN_CHUNK]))
                .values(outcome="over_delivered" if charge == 0 else "billed", charge_micros=charge)
            )
    rows: dict[tuple[str, str], list[int]] = {}
    for o in over:
        acc = rows.setdefault((o.outcome.campaign_id, o.outcome.line_item_id), [0, 0])
        acc[0] += o.over_micros
        acc[1] += 1
    upsert_adding(
        conn,
        t.spend,
        ("store_id", "campaign_id", "line_item_id"),
        OVER_COLUMNS,
        [
            {
                "store_id": store_id,
                "campaign_id": cid,
                "line_item_id": lid,
                "over_delivery_micros": m,
                "over_delivered": n,
            }
            for (cid, lid), (m, n) in sorted(rows.items())
        ],
    )
