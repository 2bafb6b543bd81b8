"""Rows for advertisers, campaigns, line items, creatives, stores and catalogs (SQLAlchemy Core)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from google.protobuf import json_format
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from cartads.rpc.errors import AlreadyExistsError, FailedPreconditionError, NotFoundError
from cartads.time_units import ts_to_us, us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin.pagination import PageRequest
from cloud_core.admin.validation import CatalogIds
from cloud_core.storage import schema as t
from cloud_core.storage.db import insert
from cloud_core.storage.protocol import StoreView
from cloud_core.storage.store_base import DatabaseMixin, exists

M = TypeVar("M")

_ADVERTISER_COLS = (t.advertisers.c.advertiser_id, t.advertisers.c.display_name, t.advertisers.c.create_time_us)
_c = t.campaigns.c
_CAMPAIGN_COLS = (
    _c.campaign_id,
    _c.advertiser_id,
    _c.display_name,
    _c.start_time_us,
    _c.end_time_us,
    _c.budget_micros,
    _c.state,
    _c.create_time_us,
    _c.frequency_cap_per_session,
)
_l = t.line_items.c
_LINE_ITEM_COLS = (
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
_CREATIVE_COLS = (
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
)
_s = t.stores.c
_STORE_COLS = (_s.store_id, _s.display_name, _s.time_zone, _s.create_time_us)
_p = t.products.c
_PRODUCT_COLS = (_p.product_id, _p.display_name, _p.aisle_id, _p.department_id, _p.brand, _p.price_micros)


def _advertiser(row: Sequence[Any]) -> admin_pb2.Advertiser:
    advertiser_id, name, created = row
    return admin_pb2.Advertiser(advertiser_id=advertiser_id, display_name=name, create_time=us_to_ts(created))


def _campaign(row: Sequence[Any]) -> admin_pb2.Campaign:
    cid, aid, name, start, end, budget, state, created, cap = row
    return admin_pb2.Campaign(
        frequency_cap_per_session=cap,
        campaign_id=cid,
        advertiser_id=aid,
        display_name=name,
        start_time=us_to_ts(start),
        end_time=us_to_ts(end),
        budget_micros=budget,
        state=state,
        create_time=us_to_ts(created),
    )


def _creative(row: Sequence[Any]) -> admin_pb2.CreativeSpec:
    cid, aid, name, fmt, headline, body, image, product, cta, offer, code, created, image_sha, recipe_json = row
    return admin_pb2.CreativeSpec(
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


def _store(row: Sequence[Any]) -> admin_pb2.Store:
    sid, name, tz, created = row[:4]
    return admin_pb2.Store(store_id=sid, display_name=name, time_zone=tz, create_time=us_to_ts(created))


def _product(r: Sequence[Any]) -> admin_pb2.Product:
    return admin_pb2.Product(
        product_id=r[0], display_name=r[1], aisle_id=r[2], department_id=r[3], brand=r[4], price_micros=r[5]
    )


def campaign_row(c: admin_pb2.Campaign) -> dict[str, object]:
    """The campaigns row for ``c`` (also what benchmarks bulk-insert, so they store what the cloud would)."""
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


def _pk(table: sa.Table) -> sa.Column[Any]:
    (column,) = table.primary_key.columns
    return column


def _insert_new(conn: Connection, table: sa.Table, values: Mapping[str, object], what: str) -> None:
    """Insert a row under a client-given id; ALREADY_EXISTS when taken (decided by the key, race-free)."""
    pk = _pk(table)
    # RETURNING, not rowcount: drivers report -1 for an INSERT ... ON CONFLICT that did nothing.
    stmt = insert(conn, table).values(**values).on_conflict_do_nothing(index_elements=[pk.name]).returning(pk)
    if conn.execute(stmt).first() is None:
        raise AlreadyExistsError(f"{what} {values[pk.name]!r} already exists", pk.name)


def _update_row(conn: Connection, table: sa.Table, key: str, values: Mapping[str, object], what: str) -> None:
    pk = _pk(table)
    if conn.execute(sa.update(table).where(pk == key).values(**values)).rowcount == 0:
        raise NotFoundError(f"{what} {key!r} does not exist", pk.name)


def _delete_row(
    conn: Connection, table: sa.Table, key: str, what: str, children: Sequence[sa.Column[str]] = ()
) -> None:
    pk = _pk(table)
    if not exists(conn, pk, key):
        raise NotFoundError(f"{what} {key!r} does not exist", pk.name)
    for child in children:
        if exists(conn, child, key):
            assert isinstance(child.table, sa.Table)
            raise FailedPreconditionError(f"{what} {key!r} still has {child.table.name}; delete them first")
    try:
        conn.execute(sa.delete(table).where(pk == key))
    except IntegrityError:
        # A child created by another replica between the check and the delete.
        raise FailedPreconditionError(f"{what} {key!r} still has dependent rows; delete them first") from None


def _select_page(
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


def _select_one(conn: Connection, cols: Sequence[sa.Column[Any]], key: str) -> Sequence[Any] | None:
    return conn.execute(sa.select(*cols).where(cols[0] == key)).first()


class AdminTablesMixin(DatabaseMixin):
    """Admin resources; every public method runs its SQL on the database's worker thread."""

    async def _get(self, cols: Sequence[sa.Column[Any]], key: str, convert: Callable[[Sequence[Any]], M]) -> M | None:
        row = await self.db.read(lambda conn: _select_one(conn, cols, key))
        return None if row is None else convert(row)

    async def _page(
        self,
        cols: Sequence[sa.Column[Any]],
        page: PageRequest,
        convert: Callable[[Sequence[Any]], M],
        filters: Sequence[tuple[sa.Column[str], str]] = (),
    ) -> list[M]:
        rows = await self.db.read(lambda conn: _select_page(conn, cols, page, filters))
        return [convert(r) for r in rows]

    # ---- advertisers ----

    async def create_advertiser(self, advertiser: admin_pb2.Advertiser) -> None:
        a = advertiser
        values = {
            "advertiser_id": a.advertiser_id,
            "display_name": a.display_name,
            "create_time_us": ts_to_us(a.create_time),
        }
        await self.db.write(lambda conn: _insert_new(conn, t.advertisers, values, "advertiser"))

    async def get_advertiser(self, advertiser_id: str) -> admin_pb2.Advertiser | None:
        return await self._get(_ADVERTISER_COLS, advertiser_id, _advertiser)

    async def list_advertisers(self, page: PageRequest) -> list[admin_pb2.Advertiser]:
        return await self._page(_ADVERTISER_COLS, page, _advertiser)

    async def update_advertiser(self, advertiser: admin_pb2.Advertiser) -> None:
        values = {"display_name": advertiser.display_name}
        await self.db.write(
            lambda conn: _update_row(conn, t.advertisers, advertiser.advertiser_id, values, "advertiser")
        )

    async def delete_advertiser(self, advertiser_id: str) -> None:
        children = [t.campaigns.c.advertiser_id, t.creatives.c.advertiser_id]
        await self.db.write(lambda conn: _delete_row(conn, t.advertisers, advertiser_id, "advertiser", children))

    # ---- campaigns ----

    async def create_campaign(self, campaign: admin_pb2.Campaign) -> None:
        values = campaign_row(campaign)
        await self.db.write(lambda conn: _insert_new(conn, t.campaigns, values, "campaign"))

    async def get_campaign(self, campaign_id: str) -> admin_pb2.Campaign | None:
        return await self._get(_CAMPAIGN_COLS, campaign_id, _campaign)

    async def list_campaigns(self, page: PageRequest, advertiser_id: str) -> list[admin_pb2.Campaign]:
        return await self._page(_CAMPAIGN_COLS, page, _campaign, [(_c.advertiser_id, advertiser_id)])

    async def update_campaign(self, campaign: admin_pb2.Campaign) -> None:
        values = campaign_row(campaign)
        # The id and create time never change.
        del values["campaign_id"], values["create_time_us"]
        await self.db.write(lambda conn: _update_row(conn, t.campaigns, campaign.campaign_id, values, "campaign"))

    async def delete_campaign(self, campaign_id: str) -> None:
        children = [t.line_items.c.campaign_id]
        await self.db.write(lambda conn: _delete_row(conn, t.campaigns, campaign_id, "campaign", children))

    # ---- line items ----

    @staticmethod
    def _line_items(conn: Connection, rows: Sequence[Sequence[Any]]) -> list[admin_pb2.LineItem]:
        """Line items of ``rows``, with their creative ids (one query for all of them)."""
        creative_ids: dict[str, list[str]] = {}
        lic = t.line_item_creatives.c
        ids = [str(r[0]) for r in rows]
        if len(ids) == 1:
            where = lic.line_item_id == ids[0]
        else:
            # Every line item (a store view or a page) is cheaper to read in one pass than one per item.
            where = lic.line_item_id.in_(ids) if len(ids) <= 500 else sa.true()
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

    @staticmethod
    def _write_line_item(conn: Connection, item: admin_pb2.LineItem, create: bool) -> None:
        values = line_item_row(item)
        lid = item.line_item_id
        if create:
            _insert_new(conn, t.line_items, values, "line item")
        else:
            del values["line_item_id"], values["campaign_id"], values["create_time_us"]
            _update_row(conn, t.line_items, lid, values, "line item")
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

    async def create_line_item(self, line_item: admin_pb2.LineItem) -> None:
        await self.db.write(lambda conn: self._write_line_item(conn, line_item, True))

    async def update_line_item(self, line_item: admin_pb2.LineItem) -> None:
        await self.db.write(lambda conn: self._write_line_item(conn, line_item, False))

    async def get_line_item(self, line_item_id: str) -> admin_pb2.LineItem | None:
        def _get(conn: Connection) -> admin_pb2.LineItem | None:
            row = _select_one(conn, _LINE_ITEM_COLS, line_item_id)
            return None if row is None else self._line_items(conn, [row])[0]

        return await self.db.read(_get)

    async def list_line_items(self, page: PageRequest, campaign_id: str) -> list[admin_pb2.LineItem]:
        def _list(conn: Connection) -> list[admin_pb2.LineItem]:
            return self._line_items(conn, _select_page(conn, _LINE_ITEM_COLS, page, [(_l.campaign_id, campaign_id)]))

        return await self.db.read(_list)

    async def delete_line_item(self, line_item_id: str) -> None:
        await self.db.write(lambda conn: _delete_row(conn, t.line_items, line_item_id, "line item"))

    # ---- creatives ----

    async def create_creative(self, creative: admin_pb2.CreativeSpec) -> None:
        values = creative_row(creative)
        await self.db.write(lambda conn: _insert_new(conn, t.creatives, values, "creative"))

    async def get_creative(self, creative_id: str) -> admin_pb2.CreativeSpec | None:
        return await self._get(_CREATIVE_COLS, creative_id, _creative)

    async def list_creatives(self, page: PageRequest, advertiser_id: str) -> list[admin_pb2.CreativeSpec]:
        return await self._page(_CREATIVE_COLS, page, _creative, [(_cr.advertiser_id, advertiser_id)])

    async def update_creative(self, creative: admin_pb2.CreativeSpec) -> None:
        values = creative_row(creative)
        del values["creative_id"], values["create_time_us"]
        await self.db.write(lambda conn: _update_row(conn, t.creatives, creative.creative_id, values, "creative"))

    async def delete_creative(self, creative_id: str) -> None:
        children = [t.line_item_creatives.c.creative_id]
        await self.db.write(lambda conn: _delete_row(conn, t.creatives, creative_id, "creative", children))

    async def creative_advertisers(self, creative_ids: Sequence[str]) -> dict[str, str]:
        def _lookup(conn: Connection) -> dict[str, str]:
            out: dict[str, str] = {}
            ids = sorted(set(creative_ids))
            for i in range(0, len(ids), 500):
                query = sa.select(_cr.creative_id, _cr.advertiser_id).where(_cr.creative_id.in_(ids[i : i + 500]))
                out.update({cid: aid for cid, aid in conn.execute(query)})
            return out

        return await self.db.read(_lookup)

    # ---- stores and catalogs ----

    async def create_store(self, store: admin_pb2.Store, signing_key: bytes) -> None:
        values = {
            "store_id": store.store_id,
            "display_name": store.display_name,
            "time_zone": store.time_zone,
            "signing_key": signing_key,
            "create_time_us": ts_to_us(store.create_time),
        }
        await self.db.write(lambda conn: _insert_new(conn, t.stores, values, "store"))

    async def get_store(self, store_id: str) -> admin_pb2.Store | None:
        return await self._get(_STORE_COLS, store_id, _store)

    async def list_stores(self, page: PageRequest) -> list[admin_pb2.Store]:
        return await self._page(_STORE_COLS, page, _store)

    async def update_store(self, store: admin_pb2.Store) -> None:
        values = {"display_name": store.display_name, "time_zone": store.time_zone}
        await self.db.write(lambda conn: _update_row(conn, t.stores, store.store_id, values, "store"))

    async def delete_store(self, store_id: str) -> None:
        children = [t.line_item_stores.c.store_id]
        await self.db.write(lambda conn: _delete_row(conn, t.stores, store_id, "store", children))

    async def store_ids(self) -> frozenset[str]:
        return await self.db.read(lambda conn: frozenset(conn.execute(sa.select(_s.store_id)).scalars()))

    async def signing_key(self, store_id: str) -> bytes | None:
        key = await self.db.read(
            lambda conn: conn.execute(sa.select(_s.signing_key).where(_s.store_id == store_id)).scalar()
        )
        return None if key is None else bytes(key)

    async def import_catalog(
        self,
        store_id: str,
        aisles: Sequence[admin_pb2.Aisle],
        departments: Sequence[admin_pb2.Department],
        products: Sequence[admin_pb2.Product],
    ) -> None:
        def _upsert(conn: Connection, table: sa.Table, rows: list[dict[str, object]]) -> None:
            # Replace rows by key: a re-import overwrites, as SQLite's INSERT OR REPLACE did.
            if not rows:
                return
            stmt = insert(conn, table)
            keys = [c.name for c in table.primary_key.columns]
            updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
            conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates), rows)

        def _import(conn: Connection) -> None:
            if not exists(conn, _s.store_id, store_id):
                raise NotFoundError(f"store {store_id!r} does not exist", "store_id")
            _upsert(
                conn,
                t.aisles,
                [
                    {
                        "store_id": store_id,
                        "aisle_id": a.aisle_id,
                        "display_name": a.display_name,
                        "zone_id": a.zone_id or f"zone-{a.aisle_id}",
                    }
                    for a in _last_by(aisles, lambda a: a.aisle_id)
                ],
            )
            _upsert(
                conn,
                t.departments,
                [
                    {"store_id": store_id, "department_id": d.department_id, "display_name": d.display_name}
                    for d in _last_by(departments, lambda d: d.department_id)
                ],
            )
            _upsert(
                conn,
                t.products,
                [
                    {
                        "store_id": store_id,
                        "product_id": p.product_id,
                        "display_name": p.display_name,
                        "aisle_id": p.aisle_id,
                        "department_id": p.department_id,
                        "brand": p.brand,
                        "price_micros": p.price_micros,
                    }
                    for p in _last_by(products, lambda p: p.product_id)
                ],
            )

        await self.db.write(_import)

    async def catalog_parent_ids(self, store_id: str) -> tuple[frozenset[str], frozenset[str]]:
        def _ids(conn: Connection) -> tuple[frozenset[str], frozenset[str]]:
            a, d = t.aisles.c, t.departments.c
            aisle_ids = frozenset(conn.execute(sa.select(a.aisle_id).where(a.store_id == store_id)).scalars())
            dept_ids = frozenset(conn.execute(sa.select(d.department_id).where(d.store_id == store_id)).scalars())
            return aisle_ids, dept_ids

        return await self.db.read(_ids)

    async def catalog_ids(self, store_ids: Sequence[str]) -> CatalogIds:
        def _ids(conn: Connection) -> CatalogIds:
            # Ids from every named store (any store when none is named): a target need exist in one of them.
            def col(column: sa.Column[str]) -> frozenset[str]:
                query = sa.select(column).distinct()
                if store_ids:
                    assert isinstance(column.table, sa.Table)
                    query = query.where(column.table.c.store_id.in_(list(store_ids)))
                return frozenset(conn.execute(query).scalars())

            return CatalogIds(
                product_ids=col(_p.product_id),
                aisle_ids=col(t.aisles.c.aisle_id),
                department_ids=col(t.departments.c.department_id),
                zone_ids=col(t.aisles.c.zone_id),
            )

        return await self.db.read(_ids)

    async def list_products(self, store_id: str, page: PageRequest) -> list[admin_pb2.Product]:
        return await self._page(_PRODUCT_COLS, page, _product, [(_p.store_id, store_id)])

    async def list_aisles(self, store_id: str, page: PageRequest) -> list[admin_pb2.Aisle]:
        a = t.aisles.c

        def _aisle(r: Sequence[Any]) -> admin_pb2.Aisle:
            return admin_pb2.Aisle(aisle_id=r[0], display_name=r[1], zone_id=r[2])

        return await self._page((a.aisle_id, a.display_name, a.zone_id), page, _aisle, [(a.store_id, store_id)])

    async def load_store_view(self, store_id: str) -> StoreView | None:
        return await self.db.read(lambda conn: self._load_store_view(conn, store_id))

    async def load_store_views(self, store_ids: Sequence[str]) -> dict[str, StoreView]:
        return await self.db.read(lambda conn: self._load_store_views(conn, store_ids))

    def _load_store_view(self, conn: Connection, store_id: str) -> StoreView | None:
        return self._load_store_views(conn, [store_id]).get(store_id)

    def _load_store_views(self, conn: Connection, store_ids: Sequence[str]) -> dict[str, StoreView]:
        """Each existing store's view; the cloud-wide rows (campaigns, line items, creatives, spend)
        are read once and shared by all of them, so compiling many stores reads them once."""
        shared: _SharedRows | None = None
        views: dict[str, StoreView] = {}
        for store_id in store_ids:
            row = conn.execute(sa.select(*_STORE_COLS, _s.signing_key).where(_s.store_id == store_id)).first()
            if row is None:
                continue
            if shared is None:
                shared = self._shared_rows(conn)
            aisles, departments, products = self._catalog(conn, store_id)
            views[store_id] = StoreView(
                store=_store(row),
                signing_key=bytes(row[4]),
                aisles=aisles,
                departments=departments,
                products=products,
                campaigns=shared.campaigns,
                line_items=shared.line_items,
                creatives=shared.creatives,
                campaign_spend_micros=shared.spend,
            )
        return views

    @staticmethod
    def _catalog(
        conn: Connection, store_id: str
    ) -> tuple[tuple[admin_pb2.Aisle, ...], tuple[admin_pb2.Department, ...], tuple[admin_pb2.Product, ...]]:
        a, d = t.aisles.c, t.departments.c
        aisles = tuple(
            admin_pb2.Aisle(aisle_id=r[0], display_name=r[1], zone_id=r[2])
            for r in conn.execute(
                sa.select(a.aisle_id, a.display_name, a.zone_id).where(a.store_id == store_id).order_by(a.aisle_id)
            )
        )
        departments = tuple(
            admin_pb2.Department(department_id=r[0], display_name=r[1])
            for r in conn.execute(
                sa.select(d.department_id, d.display_name).where(d.store_id == store_id).order_by(d.department_id)
            )
        )
        # fetchall: a store's catalog is thousands of rows, and fetching them one by one costs more.
        rows = conn.execute(sa.select(*_PRODUCT_COLS).where(_p.store_id == store_id).order_by(_p.product_id)).all()
        products = tuple(_product(r) for r in rows)
        return aisles, departments, products

    def _shared_rows(self, conn: Connection) -> _SharedRows:
        campaigns = tuple(_campaign(r) for r in conn.execute(sa.select(*_CAMPAIGN_COLS).order_by(_c.campaign_id)))
        line_items = tuple(
            self._line_items(conn, list(conn.execute(sa.select(*_LINE_ITEM_COLS).order_by(_l.line_item_id))))
        )
        creatives = tuple(_creative(r) for r in conn.execute(sa.select(*_CREATIVE_COLS).order_by(_cr.creative_id)))
        sp = t.spend.c
        spend = {
            str(cid): int(total)
            for cid, total in conn.execute(
                sa.select(sp.campaign_id, sa.func.sum(sp.spend_micros)).group_by(sp.campaign_id)
            )
        }
        return _SharedRows(campaigns, line_items, creatives, spend)


@dataclass(frozen=True)
class _SharedRows:
    """The rows every store's view holds alike."""

    campaigns: tuple[admin_pb2.Campaign, ...]
    line_items: tuple[admin_pb2.LineItem, ...]
    creatives: tuple[admin_pb2.CreativeSpec, ...]
    spend: dict[str, int]


def _last_by(items: Sequence[M], key: Callable[[M], str]) -> list[M]:
    """``items`` with one per key, the last one winning (as row-by-row INSERT OR REPLACE would)."""
    return list({key(item): item for item in items}.values())
