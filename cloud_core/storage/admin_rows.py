"""Admin resources as rows: each under a client-given id, created, updated, deleted and paged in id
order alike (advertisers, campaigns, line items, creatives, stores); and campaigns, line items and
creatives between their messages and their rows, both ways.

The row builders are shared by the campaign store, the store views the compiler reads, and the
benchmarks that bulk-insert rows (so they store what the cloud would).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from google.protobuf import json_format
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from cartads.bounds import clip
from cartads.rpc.errors import AlreadyExistsError, FailedPreconditionError, NotFoundError
from cartads.time_units import ts_to_us, us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin.pagination import PageRequest
from cloud_core.storage import schema as t
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import IN_CHUNK, exists, insert

M = TypeVar("M")


def _pk(table: sa.Table) -> sa.Column[Any]:
    (column,) = table.primary_key.columns
    return column


def insert_new(conn: Connection, table: sa.Table, values: Mapping[str, object], what: str) -> None:
    """Insert a row under a client-given id; ALREADY_EXISTS when taken (decided by the key, race-free)."""
    pk = _pk(table)
    # RETURNING, not rowcount: drivers report -1 for an INSERT ... ON CONFLICT that did nothing.
    stmt = insert(conn, table).values(**values).on_conflict_do_nothing(index_elements=[pk.name]).returning(pk)
    if conn.execute(stmt).first() is None:
        raise AlreadyExistsError(f"{what} {clip(str(values[pk.name]))!r} already exists", pk.name)


def update_row(conn: Connection, table: sa.Table, key: str, values: Mapping[str, object], what: str) -> None:
    """Update the row with id ``key``; NOT_FOUND when there is none."""
    pk = _pk(table)
    if conn.execute(sa.update(table).where(pk == key).values(**values)).rowcount == 0:
        raise NotFoundError(f"{what} {clip(key)!r} does not exist", pk.name)


def delete_row(conn: Connection, table: sa.Table, key: str, what: str, children: Sequence[sa.Column[str]] = ()) -> None:
    """Delete the row with id ``key``: NOT_FOUND when there is none, FAILED_PRECONDITION while a row
    of ``children`` still refers to it."""
    pk = _pk(table)
    if not exists(conn, pk, key):
        raise NotFoundError(f"{what} {clip(key)!r} does not exist", pk.name)
    for child in children:
        if exists(conn, child, key):
            assert isinstance(child.table, sa.Table)
            raise FailedPreconditionError(f"{what} {clip(key)!r} still has {child.table.name}; delete them first")
    try:
        conn.execute(sa.delete(table).where(pk == key))
    except IntegrityError:
        # A child created by another replica between the check and the delete.
        raise FailedPreconditionError(f"{what} {clip(key)!r} still has dependent rows; delete them first") from None


def select_page(
    conn: Connection,
    cols: Sequence[sa.Column[Any]],
    page: PageRequest,
    filters: Sequence[tuple[sa.Column[str], str]] = (),
) -> list[Sequence[Any]]:
    """``page.limit + 1`` rows after ``page.after_id`` in id order (the first column is the id)."""
    id_column = cols[0]
    query = sa.select(*cols).where(id_column > page.after_id)
    for column, value in filters:
        if value:
            query = query.where(column == value)
    return list(conn.execute(query.order_by(id_column).limit(page.limit + 1)))


def select_one(conn: Connection, cols: Sequence[sa.Column[Any]], key: str) -> Sequence[Any] | None:
    """The row whose id (the first column) is ``key``."""
    return conn.execute(sa.select(*cols).where(cols[0] == key)).first()


async def read_one(
    db: Database, cols: Sequence[sa.Column[Any]], key: str, convert: Callable[[Sequence[Any]], M]
) -> M | None:
    """``select_one`` in a read transaction, converted."""
    row = await db.read(lambda conn: select_one(conn, cols, key))
    return None if row is None else convert(row)


async def read_page(
    db: Database,
    cols: Sequence[sa.Column[Any]],
    page: PageRequest,
    convert: Callable[[Sequence[Any]], M],
    filters: Sequence[tuple[sa.Column[str], str]] = (),
) -> list[M]:
    """``select_page`` in a read transaction, converted."""
    rows = await db.read(lambda conn: select_page(conn, cols, page, filters))
    return [convert(r) for r in rows]


# ---- campaigns, line items and creatives ----

_c = t.campaigns.c
CAMPAIGN_COLUMNS = (
    _c.campaign_id,
    _c.advertiser_id,
    _c.display_name,
    _c.start_time_us,
    _c.end_time_us,
    _c.budget_micros,
    _c.state,
    _c.create_time_us,
    _c.frequency_cap_per_session,
    _c.click_through_window_s,
    _c.view_through_window_s,
)
_l = t.line_items.c
LINE_ITEM_COLUMNS = (
    _l.line_item_id,
    _l.campaign_id,
    _l.display_name,
    _l.pricing_model,
    _l.bid_micros,
    _l.targeting_json,
    _l.frequency_cap_per_session,
    _l.state,
    _l.create_time_us,
    _l.priority_tier,
    _l.creative_frequency_cap_per_session,
    _l.exclusion_label,
    _l.pacing_type,
    _l.daily_budget_micros,
)
_cr = t.creatives.c
CREATIVE_COLUMNS = (
    _cr.creative_id,
    _cr.advertiser_id,
    _cr.display_name,
    _cr.format,
    _cr.headline,
    _cr.body,
    _cr.image_url,
    _cr.promoted_product_id,
    _cr.call_to_action,
    _cr.offer_text,
    _cr.coupon_code,
    _cr.create_time_us,
    _cr.image_asset_sha256,
    _cr.recipe_product_ids_json,
    _cr.review_status,
    _cr.review_reason,
    _cr.review_time_us,
    _cr.reviewed_by,
)


# The creatives columns only a review (or an edit that sends a creative back to review) writes.
REVIEW_COLUMNS = ("review_status", "review_reason", "review_time_us", "reviewed_by")


def campaign_from_row(row: Sequence[Any]) -> admin_pb2.Campaign:
    """The Campaign of a row of CAMPAIGN_COLUMNS."""
    cid, aid, name, start, end, budget, state, created, cap, ct_window_s, vt_window_s = row
    return admin_pb2.Campaign(
        frequency_cap_per_session=cap,
        click_through_window_s=ct_window_s,
        view_through_window_s=vt_window_s,
        campaign_id=cid,
        advertiser_id=aid,
        display_name=name,
        start_time=us_to_ts(start),
        end_time=us_to_ts(end),
        budget_micros=budget,
        state=state,
        create_time=us_to_ts(created),
    )


def creative_from_row(row: Sequence[Any]) -> admin_pb2.CreativeSpec:
    """The CreativeSpec of a row of CREATIVE_COLUMNS."""
    cid, aid, name, fmt, headline, body, image, product, cta, offer, code, created, image_sha, recipe_json = row[:14]
    status, reason, review_us, reviewer = row[14:]
    return admin_pb2.CreativeSpec(
        review_status=status,
        review_reason=reason,
        review_time=us_to_ts(review_us) if review_us else None,
        reviewed_by=reviewer,
        image_asset_sha256=image_sha,
        recipe_product_ids=json.loads(recipe_json),
        creative_id=cid,
        advertiser_id=aid,
        display_name=name,
        format=fmt,
        headline=headline,
        body=body,
        image_url=image,
        promoted_product_id=product,
        call_to_action=cta,
        offer_text=offer,
        coupon_code=code,
        create_time=us_to_ts(created),
    )


def campaign_row(c: admin_pb2.Campaign) -> dict[str, object]:
    """The campaigns row for ``c``."""
    return {
        "campaign_id": c.campaign_id,
        "advertiser_id": c.advertiser_id,
        "display_name": c.display_name,
        "start_time_us": ts_to_us(c.start_time),
        "end_time_us": ts_to_us(c.end_time),
        "budget_micros": c.budget_micros,
        "state": int(c.state),
        "create_time_us": ts_to_us(c.create_time),
        "frequency_cap_per_session": c.frequency_cap_per_session,
        "click_through_window_s": c.click_through_window_s,
        "view_through_window_s": c.view_through_window_s,
    }


def creative_row(c: admin_pb2.CreativeSpec) -> dict[str, object]:
    """The creatives row for ``c``."""
    return {
        "creative_id": c.creative_id,
        "advertiser_id": c.advertiser_id,
        "display_name": c.display_name,
        "format": int(c.format),
        "headline": c.headline,
        "body": c.body,
        "image_url": c.image_url,
        "promoted_product_id": c.promoted_product_id,
        "call_to_action": c.call_to_action,
        "offer_text": c.offer_text,
        "coupon_code": c.coupon_code,
        "create_time_us": ts_to_us(c.create_time),
        "image_asset_sha256": c.image_asset_sha256,
        "recipe_product_ids_json": json.dumps(list(c.recipe_product_ids)),
        "review_status": int(c.review_status),
        "review_reason": c.review_reason,
        "review_time_us": ts_to_us(c.review_time) if c.HasField("review_time") else 0,
        "reviewed_by": c.reviewed_by,
    }


def line_item_row(item: admin_pb2.LineItem) -> dict[str, object]:
    """The line_items row for ``item`` (its stores and creatives live in their own tables)."""
    return {
        "line_item_id": item.line_item_id,
        "campaign_id": item.campaign_id,
        "display_name": item.display_name,
        "pricing_model": int(item.pricing_model),
        "bid_micros": item.bid_micros,
        "targeting_json": json_format.MessageToJson(item.targeting, indent=None, sort_keys=True),
        "frequency_cap_per_session": item.frequency_cap_per_session,
        "state": int(item.state),
        "create_time_us": ts_to_us(item.create_time),
        "priority_tier": int(item.priority_tier),
        "creative_frequency_cap_per_session": item.creative_frequency_cap_per_session,
        "exclusion_label": item.exclusion_label,
        "pacing_type": int(item.pacing_type),
        "daily_budget_micros": item.daily_budget_micros,
    }


# Parsed targeting by its stored JSON: every store's compile reads every line item, and JSON parsing
# was most of loading a store's view. Bounded; the binary form is immutable and cheap to merge.
_TARGETING_CACHE: dict[str, bytes] = {}
_TARGETING_CACHE_MAX = 100_000


def _targeting_bytes(targeting_json: str) -> bytes:
    raw = _TARGETING_CACHE.get(targeting_json)
    if raw is None:
        raw = json_format.Parse(targeting_json, admin_pb2.Targeting()).SerializeToString()
        if len(_TARGETING_CACHE) >= _TARGETING_CACHE_MAX:
            _TARGETING_CACHE.clear()
        _TARGETING_CACHE[targeting_json] = raw
    return raw


def read_line_items(conn: Connection, rows: Sequence[Sequence[Any]]) -> list[admin_pb2.LineItem]:
    """Line items of ``rows`` (of LINE_ITEM_COLUMNS), with their creative ids (one query for all of them)."""
    creative_ids: dict[str, list[str]] = {}
    lic = t.line_item_creatives.c
    ids = [str(r[0]) for r in rows]
    if len(ids) == 1:
        where = lic.line_item_id == ids[0]
    # A page or a store view: one query for all items, never one per item (every row past an IN-list).
    elif len(ids) <= IN_CHUNK:
        where = lic.line_item_id.in_(ids)
    else:
        where = sa.true()
    for lid, cid in conn.execute(
        sa.select(lic.line_item_id, lic.creative_id).where(where).order_by(lic.line_item_id, lic.position)
    ):
        creative_ids.setdefault(lid, []).append(cid)
    items = []
    for row in rows:
        (
            lid,
            cid,
            name,
            model,
            bid,
            targeting_json,
            cap,
            state,
            created,
            tier,
            creative_cap,
            label,
            pacing,
            daily,
        ) = row
        item = admin_pb2.LineItem(
            line_item_id=lid,
            campaign_id=cid,
            display_name=name,
            pricing_model=model,
            bid_micros=bid,
            creative_ids=creative_ids.get(lid, []),
            frequency_cap_per_session=cap,
            state=state,
            create_time=us_to_ts(created),
            priority_tier=tier,
            creative_frequency_cap_per_session=creative_cap,
            exclusion_label=label,
            pacing_type=pacing,
            daily_budget_micros=daily,
        )
        item.targeting.MergeFromString(_targeting_bytes(targeting_json))
        items.append(item)
    return items
