"""Advertisers and what they buy in SQL: campaigns, line items (their stores and creatives in their own
tables) and creatives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cartads.time_units import ts_to_us, us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin.pagination import PageRequest
from cloud_core.storage import schema as t
from cloud_core.storage.admin_rows import (
    CAMPAIGN_COLUMNS,
    CREATIVE_COLUMNS,
    LINE_ITEM_COLUMNS,
    REVIEW_COLUMNS,
    campaign_from_row,
    campaign_row,
    creative_from_row,
    creative_row,
    delete_row,
    insert_new,
    line_item_row,
    read_line_items,
    read_one,
    read_page,
    select_one,
    select_page,
    update_row,
)
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import chunks, insert

_a = t.advertisers.c
_ADVERTISER_COLUMNS = (_a.advertiser_id, _a.display_name, _a.create_time_us)


def _advertiser(row: Sequence[Any]) -> admin_pb2.Advertiser:
    advertiser_id, name, created = row
    return admin_pb2.Advertiser(advertiser_id=advertiser_id, display_name=name, create_time=us_to_ts(created))


def _write_line_item(conn: Connection, item: admin_pb2.LineItem, create: bool) -> None:
    values = line_item_row(item)
    lid = item.line_item_id
    if create:
        insert_new(conn, t.line_items, values, "line item")
    else:
        del values["line_item_id"], values["campaign_id"], values["create_time_us"]
        update_row(conn, t.line_items, lid, values, "line item")
        conn.execute(sa.delete(t.line_item_creatives).where(t.line_item_creatives.c.line_item_id == lid))
        conn.execute(sa.delete(t.line_item_stores).where(t.line_item_stores.c.line_item_id == lid))
    if item.creative_ids:
        conn.execute(
            sa.insert(t.line_item_creatives),
            [{"line_item_id": lid, "creative_id": cid, "position": i} for i, cid in enumerate(item.creative_ids)],
        )
    if item.targeting.store_ids:
        conn.execute(
            insert(conn, t.line_item_stores).on_conflict_do_nothing(),
            [{"line_item_id": lid, "store_id": sid} for sid in item.targeting.store_ids],
        )


class SqlAdvertisers:
    """The AdvertiserStore Protocol (storage/protocol.py)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_advertiser(self, advertiser: admin_pb2.Advertiser) -> None:
        a = advertiser
        values = {
            "advertiser_id": a.advertiser_id,
            "display_name": a.display_name,
            "create_time_us": ts_to_us(a.create_time),
        }
        await self._db.write(lambda conn: insert_new(conn, t.advertisers, values, "advertiser"))

    async def get_advertiser(self, advertiser_id: str) -> admin_pb2.Advertiser | None:
        return await read_one(self._db, _ADVERTISER_COLUMNS, advertiser_id, _advertiser)

    async def list_advertisers(self, page: PageRequest) -> list[admin_pb2.Advertiser]:
        return await read_page(self._db, _ADVERTISER_COLUMNS, page, _advertiser)

    async def update_advertiser(self, advertiser: admin_pb2.Advertiser) -> None:
        values = {"display_name": advertiser.display_name}
        await self._db.write(
            lambda conn: update_row(conn, t.advertisers, advertiser.advertiser_id, values, "advertiser")
        )

    async def delete_advertiser(self, advertiser_id: str) -> None:
        children = [t.campaigns.c.advertiser_id, t.creatives.c.advertiser_id]
        await self._db.write(lambda conn: delete_row(conn, t.advertisers, advertiser_id, "advertiser", children))


class SqlCampaigns:
    """The CampaignStore Protocol (storage/protocol.py): campaigns, their line items, and creatives."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # ---- campaigns ----

    async def create_campaign(self, campaign: admin_pb2.Campaign) -> None:
        values = campaign_row(campaign)
        await self._db.write(lambda conn: insert_new(conn, t.campaigns, values, "campaign"))

    async def get_campaign(self, campaign_id: str) -> admin_pb2.Campaign | None:
        return await read_one(self._db, CAMPAIGN_COLUMNS, campaign_id, campaign_from_row)

    async def list_campaigns(self, page: PageRequest, advertiser_id: str) -> list[admin_pb2.Campaign]:
        filters = [(t.campaigns.c.advertiser_id, advertiser_id)]
        return await read_page(self._db, CAMPAIGN_COLUMNS, page, campaign_from_row, filters)

    async def update_campaign(self, campaign: admin_pb2.Campaign) -> None:
        values = campaign_row(campaign)
        # The id and create time never change.
        del values["campaign_id"], values["create_time_us"]
        await self._db.write(lambda conn: update_row(conn, t.campaigns, campaign.campaign_id, values, "campaign"))

    async def delete_campaign(self, campaign_id: str) -> None:
        children = [t.line_items.c.campaign_id]
        await self._db.write(lambda conn: delete_row(conn, t.campaigns, campaign_id, "campaign", children))

    # ---- line items ----

    async def create_line_item(self, line_item: admin_pb2.LineItem) -> None:
        await self._db.write(lambda conn: _write_line_item(conn, line_item, True))

    async def update_line_item(self, line_item: admin_pb2.LineItem) -> None:
        await self._db.write(lambda conn: _write_line_item(conn, line_item, False))

    async def get_line_item(self, line_item_id: str) -> admin_pb2.LineItem | None:
        def _get(conn: Connection) -> admin_pb2.LineItem | None:
            row = select_one(conn, LINE_ITEM_COLUMNS, line_item_id)
            return None if row is None else read_line_items(conn, [row])[0]

        return await self._db.read(_get)

    async def list_line_items(self, page: PageRequest, campaign_id: str) -> list[admin_pb2.LineItem]:
        filters = [(t.line_items.c.campaign_id, campaign_id)]

        def _list(conn: Connection) -> list[admin_pb2.LineItem]:
            return read_line_items(conn, select_page(conn, LINE_ITEM_COLUMNS, page, filters))

        return await self._db.read(_list)

    async def delete_line_item(self, line_item_id: str) -> None:
        await self._db.write(lambda conn: delete_row(conn, t.line_items, line_item_id, "line item"))

    # ---- creatives ----

    async def create_creative(self, creative: admin_pb2.CreativeSpec) -> None:
        values = creative_row(creative)
        await self._db.write(lambda conn: insert_new(conn, t.creatives, values, "creative"))

    async def get_creative(self, creative_id: str) -> admin_pb2.CreativeSpec | None:
        return await read_one(self._db, CREATIVE_COLUMNS, creative_id, creative_from_row)

    async def list_creatives(self, page: PageRequest, advertiser_id: str) -> list[admin_pb2.CreativeSpec]:
        filters = [(t.creatives.c.advertiser_id, advertiser_id)]
        return await read_page(self._db, CREATIVE_COLUMNS, page, creative_from_row, filters)

    async def update_creative(self, creative: admin_pb2.CreativeSpec, *, review: bool = False) -> None:
        """Write the creative's content; its review fields too only when ``review`` (an edit that sends
        it back to review), so an edit never undoes an approval or rejection made meanwhile."""
        values = creative_row(creative)
        del values["creative_id"], values["create_time_us"]
        if not review:
            for column in REVIEW_COLUMNS:
                del values[column]
        await self._db.write(lambda conn: update_row(conn, t.creatives, creative.creative_id, values, "creative"))

    async def review_creative(
        self, creative_id: str, status: admin_pb2.CreativeReviewStatus, reason: str, time_us: int, by: str
    ) -> admin_pb2.CreativeSpec:
        """Set only the review fields (content written meanwhile stays) and answer the creative as stored."""
        values = {"review_status": int(status), "review_reason": reason, "review_time_us": time_us, "reviewed_by": by}

        def _review(conn: Connection) -> admin_pb2.CreativeSpec:
            update_row(conn, t.creatives, creative_id, values, "creative")
            row = conn.execute(sa.select(*CREATIVE_COLUMNS).where(t.creatives.c.creative_id == creative_id)).one()
            return creative_from_row(row)

        return await self._db.write(_review)

    async def delete_creative(self, creative_id: str) -> None:
        children = [t.line_item_creatives.c.creative_id]
        await self._db.write(lambda conn: delete_row(conn, t.creatives, creative_id, "creative", children))

    async def creative_advertisers(self, creative_ids: Sequence[str]) -> dict[str, str]:
        cr = t.creatives.c

        def _lookup(conn: Connection) -> dict[str, str]:
            out: dict[str, str] = {}
            for chunk in chunks(creative_ids):
                query = sa.select(cr.creative_id, cr.advertiser_id).where(cr.creative_id.in_(chunk))
                out.update({cid: aid for cid, aid in conn.execute(query)})
            return out

        return await self._db.read(_lookup)
