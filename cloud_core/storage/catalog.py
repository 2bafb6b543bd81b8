"""Stores and their catalogs (aisles, departments, products) in SQL, and the store views the index
compiler reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cartads.bounds import clip
from cartads.rpc.errors import NotFoundError
from cartads.time_units import ts_to_us, us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin.pagination import PageRequest
from cloud_core.admin.validation import CatalogIds
from cloud_core.storage import schema as t
from cloud_core.storage.admin_rows import (
    CAMPAIGN_COLUMNS,
    CREATIVE_COLUMNS,
    LINE_ITEM_COLUMNS,
    campaign_from_row,
    creative_from_row,
    delete_row,
    insert_new,
    read_line_items,
    read_one,
    read_page,
    update_row,
)
from cloud_core.storage.protocol import StoreView
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import exists, insert

M = TypeVar("M")

_s = t.stores.c
_STORE_COLUMNS = (_s.store_id, _s.display_name, _s.time_zone, _s.create_time_us)
_p = t.products.c
_PRODUCT_COLUMNS = (_p.product_id, _p.display_name, _p.aisle_id, _p.department_id, _p.brand, _p.price_micros)


def _store(row: Sequence[Any]) -> admin_pb2.Store:
    sid, name, tz, created = row[:4]
    return admin_pb2.Store(store_id=sid, display_name=name, time_zone=tz, create_time=us_to_ts(created))


def _product(r: Sequence[Any]) -> admin_pb2.Product:
    return admin_pb2.Product(
        product_id=r[0], display_name=r[1], aisle_id=r[2], department_id=r[3], brand=r[4], price_micros=r[5]
    )


def _aisle(r: Sequence[Any]) -> admin_pb2.Aisle:
    return admin_pb2.Aisle(aisle_id=r[0], display_name=r[1], zone_id=r[2])


def all_store_ids(conn: Connection) -> frozenset[str]:
    """The ids of every store."""
    return frozenset(conn.execute(sa.select(_s.store_id)).scalars())


def _last_by(items: Sequence[M], key: Callable[[M], str]) -> list[M]:
    """``items`` with one per key, the last one winning (as row-by-row INSERT OR REPLACE would)."""
    return list({key(item): item for item in items}.values())


def _replace_rows(conn: Connection, table: sa.Table, rows: list[dict[str, object]]) -> None:
    """Insert ``rows``, overwriting those with the same key (a re-import replaces)."""
    if not rows:
        return
    stmt = insert(conn, table)
    keys = [c.name for c in table.primary_key.columns]
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=updates), rows)


def _import_catalog(
    conn: Connection,
    store_id: str,
    aisles: Sequence[admin_pb2.Aisle],
    departments: Sequence[admin_pb2.Department],
    products: Sequence[admin_pb2.Product],
) -> None:
    if not exists(conn, _s.store_id, store_id):
        raise NotFoundError(f"store {clip(store_id)!r} does not exist", "store_id")
    _replace_rows(
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
    _replace_rows(
        conn,
        t.departments,
        [
            {"store_id": store_id, "department_id": d.department_id, "display_name": d.display_name}
            for d in _last_by(departments, lambda d: d.department_id)
        ],
    )
    _replace_rows(
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


@dataclass(frozen=True)
class _SharedRows:
    """The rows every store's view holds alike."""

    campaigns: tuple[admin_pb2.Campaign, ...]
    line_items: tuple[admin_pb2.LineItem, ...]
    creatives: tuple[admin_pb2.CreativeSpec, ...]
    spend: dict[str, int]


def _shared_rows(conn: Connection) -> _SharedRows:
    c, li, cr, sp = t.campaigns.c, t.line_items.c, t.creatives.c, t.spend.c
    campaigns = tuple(campaign_from_row(r) for r in conn.execute(sa.select(*CAMPAIGN_COLUMNS).order_by(c.campaign_id)))
    line_items = tuple(
        read_line_items(conn, list(conn.execute(sa.select(*LINE_ITEM_COLUMNS).order_by(li.line_item_id))))
    )
    creatives = tuple(creative_from_row(r) for r in conn.execute(sa.select(*CREATIVE_COLUMNS).order_by(cr.creative_id)))
    spend = {
        str(cid): int(total)
        for cid, total in conn.execute(sa.select(sp.campaign_id, sa.func.sum(sp.spend_micros)).group_by(sp.campaign_id))
    }
    return _SharedRows(campaigns, line_items, creatives, spend)


def _catalog(
    conn: Connection, store_id: str
) -> tuple[tuple[admin_pb2.Aisle, ...], tuple[admin_pb2.Department, ...], tuple[admin_pb2.Product, ...]]:
    a, d = t.aisles.c, t.departments.c
    aisles = tuple(
        _aisle(r)
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
    rows = conn.execute(sa.select(*_PRODUCT_COLUMNS).where(_p.store_id == store_id).order_by(_p.product_id)).all()
    return aisles, departments, tuple(_product(r) for r in rows)


def _load_store_views(conn: Connection, store_ids: Sequence[str]) -> dict[str, StoreView]:
    """Each existing store's view; the cloud-wide rows (campaigns, line items, creatives, spend)
    are read once and shared by all of them, so compiling many stores reads them once."""
    shared: _SharedRows | None = None
    views: dict[str, StoreView] = {}
    for store_id in store_ids:
        row = conn.execute(sa.select(*_STORE_COLUMNS, _s.signing_key).where(_s.store_id == store_id)).first()
        if row is None:
            continue
        if shared is None:
            shared = _shared_rows(conn)
        aisles, departments, products = _catalog(conn, store_id)
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


class SqlCatalog:
    """The CatalogStore Protocol (storage/protocol.py): stores, their signing keys and catalogs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_store(self, store: admin_pb2.Store, signing_key: bytes) -> None:
        values = {
            "store_id": store.store_id,
            "display_name": store.display_name,
            "time_zone": store.time_zone,
            "signing_key": signing_key,
            "create_time_us": ts_to_us(store.create_time),
        }
        await self._db.write(lambda conn: insert_new(conn, t.stores, values, "store"))

    async def get_store(self, store_id: str) -> admin_pb2.Store | None:
        return await read_one(self._db, _STORE_COLUMNS, store_id, _store)

    async def list_stores(self, page: PageRequest) -> list[admin_pb2.Store]:
        return await read_page(self._db, _STORE_COLUMNS, page, _store)

    async def update_store(self, store: admin_pb2.Store) -> None:
        values = {"display_name": store.display_name, "time_zone": store.time_zone}
        await self._db.write(lambda conn: update_row(conn, t.stores, store.store_id, values, "store"))

    async def delete_store(self, store_id: str) -> None:
        children = [t.line_item_stores.c.store_id]
        await self._db.write(lambda conn: delete_row(conn, t.stores, store_id, "store", children))

    async def store_ids(self) -> frozenset[str]:
        return await self._db.read(all_store_ids)

    async def signing_key(self, store_id: str) -> bytes | None:
        key = await self._db.read(
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
        await self._db.write(lambda conn: _import_catalog(conn, store_id, aisles, departments, products))

    async def catalog_parent_ids(self, store_id: str) -> tuple[frozenset[str], frozenset[str]]:
        def _ids(conn: Connection) -> tuple[frozenset[str], frozenset[str]]:
            a, d = t.aisles.c, t.departments.c
            aisle_ids = frozenset(conn.execute(sa.select(a.aisle_id).where(a.store_id == store_id)).scalars())
            dept_ids = frozenset(conn.execute(sa.select(d.department_id).where(d.store_id == store_id)).scalars())
            return aisle_ids, dept_ids

        return await self._db.read(_ids)

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

        return await self._db.read(_ids)

    async def list_products(self, store_id: str, page: PageRequest) -> list[admin_pb2.Product]:
        return await read_page(self._db, _PRODUCT_COLUMNS, page, _product, [(_p.store_id, store_id)])

    async def list_aisles(self, store_id: str, page: PageRequest) -> list[admin_pb2.Aisle]:
        a = t.aisles.c
        return await read_page(
            self._db, (a.aisle_id, a.display_name, a.zone_id), page, _aisle, [(a.store_id, store_id)]
        )

    async def load_store_view(self, store_id: str) -> StoreView | None:
        return await self._db.read(lambda conn: _load_store_views(conn, [store_id]).get(store_id))

    async def load_store_views(self, store_ids: Sequence[str]) -> dict[str, StoreView]:
        return await self._db.read(lambda conn: _load_store_views(conn, store_ids))
