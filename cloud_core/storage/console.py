"""The operator console's reads (the ConsoleReads Protocol): edges, campaigns with their spend, and a
campaign's hourly rollups. Read-only; each method is one read snapshot.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from cloud_core.console.model import CampaignHours, CampaignTotals, EdgeRow, HourlySpend
from cloud_core.reports.metrics import SALES_FIELDS
from cloud_core.storage.schema import (
    campaigns,
    edges,
    hourly_rollups,
    invalid_rollups_hourly,
    report_rollups_daily_campaign,
    spend,
)
from cloud_core.storage.sql.database import Database

_E = edges.c
_C = campaigns.c
_S = spend.c
_H = hourly_rollups.c
# admin.proto's SERVING_STATE_ACTIVE; the storage layer keeps the enum as its number.
_ACTIVE = 1


def _sum(column: sa.ColumnElement[int], label: str) -> sa.Label[int]:
    # PostgreSQL's SUM(bigint) is numeric: cast back so both engines hand Python an int.
    return sa.cast(sa.func.coalesce(sa.func.sum(column), 0), sa.BigInteger).label(label)


_SPEND_BY_CAMPAIGN = (
    sa.select(
        _S.campaign_id,
        _sum(_S.impressions, "impressions"),
        _sum(_S.clicks, "clicks"),
        _sum(_S.conversions, "conversions"),
        _sum(_S.spend_micros, "spend_micros"),
    )
    .group_by(_S.campaign_id)
    .subquery("campaign_spend")
)
_I = invalid_rollups_hourly.c
_INVALID_BY_CAMPAIGN = (
    sa.select(_I.campaign_id, _sum(_I.impressions + _I.clicks + _I.conversions, "invalid_ad_events"))
    .group_by(_I.campaign_id)
    .subquery("campaign_invalid")
)

_P = report_rollups_daily_campaign.c
# Plays are counted only in the report rollups (they bill nothing, so the spend table has none); the
# all-traffic layer ("") counts each play once.
_PLAYS_BY_CAMPAIGN = (
    sa.select(_P.campaign_id, _sum(_P.plays, "plays"), *(_sum(_P[c], c) for c in SALES_FIELDS))
    .where(_P.layer_id == "")
    .group_by(_P.campaign_id)
    .subquery("campaign_plays")
)


def _campaigns_query() -> sa.Select[Any]:
    totals = _SPEND_BY_CAMPAIGN.c
    return (
        sa.select(
            _C.campaign_id,
            _C.advertiser_id,
            _C.display_name,
            _C.budget_micros,
            _C.start_time_us,
            _C.end_time_us,
            _C.state,
            sa.func.coalesce(totals.impressions, 0).label("impressions"),
            sa.func.coalesce(totals.clicks, 0).label("clicks"),
            sa.func.coalesce(totals.conversions, 0).label("conversions"),
            sa.func.coalesce(totals.spend_micros, 0).label("spend_micros"),
            sa.func.coalesce(_INVALID_BY_CAMPAIGN.c.invalid_ad_events, 0).label("invalid_ad_events"),
            sa.func.coalesce(_PLAYS_BY_CAMPAIGN.c.plays, 0).label("plays"),
            *(sa.func.coalesce(_PLAYS_BY_CAMPAIGN.c[c], 0).label(c) for c in SALES_FIELDS),
        )
        .select_from(
            campaigns.outerjoin(_SPEND_BY_CAMPAIGN, totals.campaign_id == _C.campaign_id)
            .outerjoin(_INVALID_BY_CAMPAIGN, _INVALID_BY_CAMPAIGN.c.campaign_id == _C.campaign_id)
            .outerjoin(_PLAYS_BY_CAMPAIGN, _PLAYS_BY_CAMPAIGN.c.campaign_id == _C.campaign_id)
        )
        .order_by(_C.campaign_id)
    )


def _campaign(row: RowMapping) -> CampaignTotals:
    return CampaignTotals(
        campaign_id=row["campaign_id"],
        advertiser_id=row["advertiser_id"],
        display_name=row["display_name"],
        budget_micros=int(row["budget_micros"]),
        start_time_us=int(row["start_time_us"]),
        end_time_us=int(row["end_time_us"]),
        active=row["state"] == _ACTIVE,
        impressions=int(row["impressions"]),
        clicks=int(row["clicks"]),
        conversions=int(row["conversions"]),
        spend_micros=int(row["spend_micros"]),
        invalid_ad_events=int(row["invalid_ad_events"]),
        plays=int(row["plays"]),
        **{c: int(row[c]) for c in SALES_FIELDS},
    )


class SqlConsoleReads:
    """The ConsoleReads Protocol (storage/protocol.py): what the operator console reads."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def console_edges(self) -> list[EdgeRow]:
        """Every edge that ever connected, by store and edge id."""

        def _read(conn: Connection) -> list[EdgeRow]:
            query = sa.select(
                _E.store_id,
                _E.edge_id,
                _E.connected,
                _E.applied_version,
                _E.current_version,
                _E.last_answer,
                _E.last_ack_time_us,
                _E.last_nack_time_us,
                _E.last_error,
                _E.last_nack_version,
                _E.last_seen_us,
                _E.flagged,
                _E.flag_reason,
                _E.flag_count,
            ).order_by(_E.store_id, _E.edge_id)
            return [
                EdgeRow(
                    store_id=r.store_id,
                    edge_id=r.edge_id,
                    connected=bool(r.connected),
                    applied_version=r.applied_version,
                    current_version=r.current_version,
                    last_answer=r.last_answer,
                    last_ack_time_us=int(r.last_ack_time_us),
                    last_nack_time_us=int(r.last_nack_time_us),
                    last_error=r.last_error,
                    last_nack_version=r.last_nack_version,
                    last_seen_us=int(r.last_seen_us),
                    flagged=bool(r.flagged),
                    flag_reason=r.flag_reason,
                    flag_count=int(r.flag_count),
                )
                for r in conn.execute(query)
            ]

        return await self._db.read(_read)

    async def console_campaigns(self) -> list[CampaignTotals]:
        """Every campaign with its budget, flight and delivery summed over stores and line items."""

        def _read(conn: Connection) -> list[CampaignTotals]:
            return [_campaign(r) for r in conn.execute(_campaigns_query()).mappings()]

        return await self._db.read(_read)

    async def console_campaign(self, campaign_id: str) -> CampaignTotals | None:
        """One campaign's totals, None when it does not exist."""

        def _read(conn: Connection) -> CampaignTotals | None:
            row = conn.execute(_campaigns_query().where(_C.campaign_id == campaign_id)).mappings().first()
            return None if row is None else _campaign(row)

        return await self._db.read(_read)

    async def console_hourly_spend(self, campaign_id: str, since_us: int = 0) -> CampaignHours:
        """A campaign's rollups summed per hour (over line items and stores) from ``since_us`` on,
        oldest first, and the spend of every earlier hour as one sum; one snapshot."""

        def _read(conn: Connection) -> CampaignHours:
            query = (
                sa.select(
                    _H.hour_start_us,
                    _sum(_H.impressions, "impressions"),
                    _sum(_H.clicks, "clicks"),
                    _sum(_H.conversions, "conversions"),
                    _sum(_H.spend_micros, "spend_micros"),
                )
                .where(_H.campaign_id == campaign_id, _H.hour_start_us >= since_us)
                .group_by(_H.hour_start_us)
                .order_by(_H.hour_start_us)
            )
            hours = tuple(
                HourlySpend(
                    hour_start_us=int(r.hour_start_us),
                    impressions=int(r.impressions),
                    clicks=int(r.clicks),
                    conversions=int(r.conversions),
                    spend_micros=int(r.spend_micros),
                )
                for r in conn.execute(query)
            )
            earlier = 0
            if since_us > 0:
                before = sa.select(_sum(_H.spend_micros, "spend_micros")).where(
                    _H.campaign_id == campaign_id, _H.hour_start_us < since_us
                )
                earlier = int(conn.execute(before).scalar_one())
            return CampaignHours(earlier, hours)

        return await self._db.read(_read)
