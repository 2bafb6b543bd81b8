"""SQLite rows for advertisers, campaigns, line items, creatives, stores and catalogs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from google.protobuf import json_format

from cartads.v1 import admin_pb2
from cloud_core.errors import AlreadyExistsError, FailedPreconditionError, NotFoundError
from cloud_core.pagination import PageRequest
from cloud_core.storage.protocol import StoreView
from cloud_core.storage.sqlite_base import SqliteBase
from cloud_core.timeutil import ts_to_us, us_to_ts
from cloud_core.validation import CatalogIds

_ADVERTISER_COLS = "advertiser_id, display_name, create_time_us"
_CAMPAIGN_COLS = (
    "campaign_id, advertiser_id, display_name, start_time_us, end_time_us, budget_micros, state, create_time_us, "
    "frequency_cap_per_session"
)
_LINE_ITEM_COLS = (
    "line_item_id, campaign_id, display_name, pricing_model, bid_micros, targeting_json, "
    "frequency_cap_per_session, state, create_time_us, priority_tier, creative_frequency_cap_per_session, "
    "exclusion_label"
)
_CREATIVE_COLS = (
    "creative_id, advertiser_id, display_name, format, headline, body, image_url, promoted_product_id, "
    "call_to_action, offer_text, coupon_code, create_time_us, image_asset_sha256, recipe_product_ids_json"
)
_STORE_COLS = "store_id, display_name, time_zone, create_time_us"


def _advertiser(row: sqlite3.Row | tuple[object, ...]) -> admin_pb2.Advertiser:
    advertiser_id, name, created = row
    return admin_pb2.Advertiser(
        advertiser_id=str(advertiser_id), display_name=str(name), create_time=us_to_ts(int(str(created)))
    )


def _campaign(row: tuple[object, ...]) -> admin_pb2.Campaign:
    cid, aid, name, start, end, budget, state, created, cap = row
    return admin_pb2.Campaign(
        frequency_cap_per_session=int(str(cap)),
        campaign_id=str(cid),
        advertiser_id=str(aid),
        display_name=str(name),
        start_time=us_to_ts(int(str(start))),
        end_time=us_to_ts(int(str(end))),
        budget_micros=int(str(budget)),
        state=int(str(state)),  # type: ignore[arg-type]
        create_time=us_to_ts(int(str(created))),
    )


def _creative(row: tuple[object, ...]) -> admin_pb2.CreativeSpec:
    cid, aid, name, fmt, headline, body, image, product, cta, offer, code, created, image_sha, recipe_json = row
    return admin_pb2.CreativeSpec(
        image_asset_sha256=str(image_sha),
        recipe_product_ids=json.loads(str(recipe_json)),
        creative_id=str(cid),
        advertiser_id=str(aid),
        display_name=str(name),
        format=int(str(fmt)),  # type: ignore[arg-type]
        headline=str(headline),
        body=str(body),
        image_url=str(image),
        promoted_product_id=str(product),
        call_to_action=str(cta),
        offer_text=str(offer),
        coupon_code=str(code),
        create_time=us_to_ts(int(str(created))),
    )


def _store(row: tuple[object, ...]) -> admin_pb2.Store:
    sid, name, tz, created = row
    return admin_pb2.Store(
        store_id=str(sid), display_name=str(name), time_zone=str(tz), create_time=us_to_ts(int(str(created)))
    )


class SqliteAdminMixin(SqliteBase):
    """Admin resources; every public method runs its SQL on the worker thread."""

    # ---- helpers (worker thread) ----

    def _exists(self, conn: sqlite3.Connection, table: str, column: str, value: str) -> bool:
        return conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", (value,)).fetchone() is not None

    def _insert_new(self, table: str, id_column: str, values: tuple[object, ...], what: str) -> None:
        marks = ", ".join("?" * len(values))
        with self._tx() as conn:
            if self._exists(conn, table, id_column, str(values[0])):
                raise AlreadyExistsError(f"{what} {values[0]!r} already exists", id_column)
            conn.execute(f"INSERT INTO {table} VALUES ({marks})", values)

    def _update_row(self, table: str, id_column: str, columns: str, values: tuple[object, ...], what: str) -> None:
        sets = ", ".join(f"{c.strip()} = ?" for c in columns.split(","))
        with self._tx() as conn:
            cur = conn.execute(f"UPDATE {table} SET {sets} WHERE {id_column} = ?", (*values[1:], values[0]))
            if cur.rowcount == 0:
                raise NotFoundError(f"{what} {values[0]!r} does not exist", id_column)

    def _delete_row(
        self, table: str, id_column: str, value: str, what: str, children: Sequence[tuple[str, str]]
    ) -> None:
        with self._tx() as conn:
            if not self._exists(conn, table, id_column, value):
                raise NotFoundError(f"{what} {value!r} does not exist", id_column)
            for child_table, child_column in children:
                if self._exists(conn, child_table, child_column, value):
                    raise FailedPreconditionError(f"{what} {value!r} still has {child_table}; delete them first")
            conn.execute(f"DELETE FROM {table} WHERE {id_column} = ?", (value,))

    def _select_one(self, sql: str, value: str) -> tuple[object, ...] | None:
        row = self.conn.execute(sql, (value,)).fetchone()
        return None if row is None else tuple(row)

    def _select_page(
        self, cols: str, table: str, id_column: str, page: PageRequest, filters: Sequence[tuple[str, str]] = ()
    ) -> list[tuple[object, ...]]:
        where = [f"{id_column} > ?"]
        params: list[object] = [page.after_id]
        for column, value in filters:
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT {cols} FROM {table} WHERE {' AND '.join(where)} ORDER BY {id_column} LIMIT ?"
        return [tuple(r) for r in self.conn.execute(sql, (*params, page.limit + 1))]

    # ---- advertisers ----

    async def create_advertiser(self, advertiser: admin_pb2.Advertiser) -> None:
        a = advertiser
        values = (a.advertiser_id, a.display_name, ts_to_us(a.create_time))
        await self._run(self._insert_new, "advertisers", "advertiser_id", values, "advertiser")

    async def get_advertiser(self, advertiser_id: str) -> admin_pb2.Advertiser | None:
        sql = f"SELECT {_ADVERTISER_COLS} FROM advertisers WHERE advertiser_id = ?"
        row = await self._run(self._select_one, sql, advertiser_id)
        return None if row is None else _advertiser(row)

    async def list_advertisers(self, page: PageRequest) -> list[admin_pb2.Advertiser]:
        rows = await self._run(self._select_page, _ADVERTISER_COLS, "advertisers", "advertiser_id", page)
        return [_advertiser(r) for r in rows]

    async def update_advertiser(self, advertiser: admin_pb2.Advertiser) -> None:
        values = (advertiser.advertiser_id, advertiser.display_name)
        await self._run(self._update_row, "advertisers", "advertiser_id", "display_name", values, "advertiser")

    async def delete_advertiser(self, advertiser_id: str) -> None:
        children = [("campaigns", "advertiser_id"), ("creatives", "advertiser_id")]
        await self._run(self._delete_row, "advertisers", "advertiser_id", advertiser_id, "advertiser", children)

    # ---- campaigns ----

    @staticmethod
    def _campaign_values(c: admin_pb2.Campaign) -> tuple[object, ...]:
        return (
            c.campaign_id,
            c.advertiser_id,
            c.display_name,
            ts_to_us(c.start_time),
            ts_to_us(c.end_time),
            c.budget_micros,
            int(c.state),
            ts_to_us(c.create_time),
            c.frequency_cap_per_session,
        )

    async def create_campaign(self, campaign: admin_pb2.Campaign) -> None:
        values = self._campaign_values(campaign)
        await self._run(self._insert_new, "campaigns", "campaign_id", values, "campaign")

    async def get_campaign(self, campaign_id: str) -> admin_pb2.Campaign | None:
        row = await self._run(
            self._select_one, f"SELECT {_CAMPAIGN_COLS} FROM campaigns WHERE campaign_id = ?", campaign_id
        )
        return None if row is None else _campaign(row)

    async def list_campaigns(self, page: PageRequest, advertiser_id: str) -> list[admin_pb2.Campaign]:
        rows = await self._run(
            self._select_page, _CAMPAIGN_COLS, "campaigns", "campaign_id", page, [("advertiser_id", advertiser_id)]
        )
        return [_campaign(r) for r in rows]

    async def update_campaign(self, campaign: admin_pb2.Campaign) -> None:
        values = (*self._campaign_values(campaign)[:-2], campaign.frequency_cap_per_session)
        cols = (
            "advertiser_id, display_name, start_time_us, end_time_us, budget_micros, state, frequency_cap_per_session"
        )
        await self._run(self._update_row, "campaigns", "campaign_id", cols, values, "campaign")

    async def delete_campaign(self, campaign_id: str) -> None:
        children = [("line_items", "campaign_id")]
        await self._run(self._delete_row, "campaigns", "campaign_id", campaign_id, "campaign", children)

    # ---- line items ----

    def _line_item(self, conn: sqlite3.Connection, row: tuple[object, ...]) -> admin_pb2.LineItem:
        lid, cid, name, model, bid, targeting_json, cap, state, created, tier, creative_cap, label = row
        creative_ids = [
            str(r[0])
            for r in conn.execute(
                "SELECT creative_id FROM line_item_creatives WHERE line_item_id = ? ORDER BY position", (lid,)
            )
        ]
        item = admin_pb2.LineItem(
            line_item_id=str(lid),
            campaign_id=str(cid),
            display_name=str(name),
            pricing_model=int(str(model)),  # type: ignore[arg-type]
            bid_micros=int(str(bid)),
            creative_ids=creative_ids,
            frequency_cap_per_session=int(str(cap)),
            state=int(str(state)),  # type: ignore[arg-type]
            create_time=us_to_ts(int(str(created))),
            priority_tier=int(str(tier)),  # type: ignore[arg-type]
            creative_frequency_cap_per_session=int(str(creative_cap)),
            exclusion_label=str(label),
        )
        json_format.Parse(str(targeting_json), item.targeting)
        return item

    def _write_line_item(self, item: admin_pb2.LineItem, create: bool) -> None:
        values = (
            item.line_item_id,
            item.campaign_id,
            item.display_name,
            int(item.pricing_model),
            item.bid_micros,
            json_format.MessageToJson(item.targeting, indent=None, sort_keys=True),
            item.frequency_cap_per_session,
            int(item.state),
            ts_to_us(item.create_time),
            int(item.priority_tier),
            item.creative_frequency_cap_per_session,
            item.exclusion_label,
        )
        with self._tx() as conn:
            exists = self._exists(conn, "line_items", "line_item_id", item.line_item_id)
            if create and exists:
                raise AlreadyExistsError(f"line item {item.line_item_id!r} already exists", "line_item_id")
            if not create and not exists:
                raise NotFoundError(f"line item {item.line_item_id!r} does not exist", "line_item_id")
            if create:
                marks = ", ".join("?" * len(values))
                conn.execute(f"INSERT INTO line_items ({_LINE_ITEM_COLS}) VALUES ({marks})", values)
            else:
                conn.execute(
                    "UPDATE line_items SET display_name = ?, pricing_model = ?, bid_micros = ?, targeting_json = ?, "
                    "frequency_cap_per_session = ?, state = ?, priority_tier = ?, "
                    "creative_frequency_cap_per_session = ?, exclusion_label = ? WHERE line_item_id = ?",
                    (*values[2:8], *values[9:], item.line_item_id),
                )
                conn.execute("DELETE FROM line_item_creatives WHERE line_item_id = ?", (item.line_item_id,))
                conn.execute("DELETE FROM line_item_stores WHERE line_item_id = ?", (item.line_item_id,))
            conn.executemany(
                "INSERT INTO line_item_creatives VALUES (?, ?, ?)",
                [(item.line_item_id, cid, i) for i, cid in enumerate(item.creative_ids)],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO line_item_stores VALUES (?, ?)",
                [(item.line_item_id, sid) for sid in item.targeting.store_ids],
            )

    async def create_line_item(self, line_item: admin_pb2.LineItem) -> None:
        await self._run(self._write_line_item, line_item, True)

    async def update_line_item(self, line_item: admin_pb2.LineItem) -> None:
        await self._run(self._write_line_item, line_item, False)

    async def get_line_item(self, line_item_id: str) -> admin_pb2.LineItem | None:
        def _get() -> admin_pb2.LineItem | None:
            with self._read() as conn:
                row = conn.execute(
                    f"SELECT {_LINE_ITEM_COLS} FROM line_items WHERE line_item_id = ?", (line_item_id,)
                ).fetchone()
                return None if row is None else self._line_item(conn, tuple(row))

        return await self._run(_get)

    async def list_line_items(self, page: PageRequest, campaign_id: str) -> list[admin_pb2.LineItem]:
        def _list() -> list[admin_pb2.LineItem]:
            with self._read() as conn:
                rows = self._select_page(
                    _LINE_ITEM_COLS, "line_items", "line_item_id", page, [("campaign_id", campaign_id)]
                )
                return [self._line_item(conn, r) for r in rows]

        return await self._run(_list)

    async def delete_line_item(self, line_item_id: str) -> None:
        await self._run(self._delete_row, "line_items", "line_item_id", line_item_id, "line item", [])

    # ---- creatives ----

    @staticmethod
    def _creative_values(c: admin_pb2.CreativeSpec) -> tuple[object, ...]:
        return (
            c.creative_id,
            c.advertiser_id,
            c.display_name,
            int(c.format),
            c.headline,
            c.body,
            c.image_url,
            c.promoted_product_id,
            c.call_to_action,
            c.offer_text,
            c.coupon_code,
            ts_to_us(c.create_time),
            c.image_asset_sha256,
            json.dumps(list(c.recipe_product_ids)),
        )

    async def create_creative(self, creative: admin_pb2.CreativeSpec) -> None:
        await self._run(self._insert_new, "creatives", "creative_id", self._creative_values(creative), "creative")

    async def get_creative(self, creative_id: str) -> admin_pb2.CreativeSpec | None:
        row = await self._run(
            self._select_one, f"SELECT {_CREATIVE_COLS} FROM creatives WHERE creative_id = ?", creative_id
        )
        return None if row is None else _creative(row)

    async def list_creatives(self, page: PageRequest, advertiser_id: str) -> list[admin_pb2.CreativeSpec]:
        rows = await self._run(
            self._select_page, _CREATIVE_COLS, "creatives", "creative_id", page, [("advertiser_id", advertiser_id)]
        )
        return [_creative(r) for r in rows]

    async def update_creative(self, creative: admin_pb2.CreativeSpec) -> None:
        # Every column but the id (first) and create_time_us (kept): the update's SET list.
        names = _CREATIVE_COLS.split(", ")
        keep = [i for i, name in enumerate(names) if name != "create_time_us"]
        cols = ", ".join(names[i] for i in keep[1:])
        values = tuple(self._creative_values(creative)[i] for i in keep)
        await self._run(self._update_row, "creatives", "creative_id", cols, values, "creative")

    async def delete_creative(self, creative_id: str) -> None:
        children = [("line_item_creatives", "creative_id")]
        await self._run(self._delete_row, "creatives", "creative_id", creative_id, "creative", children)

    async def creative_advertisers(self, creative_ids: Sequence[str]) -> dict[str, str]:
        def _lookup() -> dict[str, str]:
            out: dict[str, str] = {}
            for cid in set(creative_ids):
                row = self.conn.execute("SELECT advertiser_id FROM creatives WHERE creative_id = ?", (cid,)).fetchone()
                if row is not None:
                    out[cid] = str(row[0])
            return out

        return await self._run(_lookup)

    # ---- stores and catalogs ----

    async def create_store(self, store: admin_pb2.Store, signing_key: bytes) -> None:
        values = (store.store_id, store.display_name, store.time_zone, signing_key, ts_to_us(store.create_time))
        await self._run(self._insert_new, "stores", "store_id", values, "store")

    async def get_store(self, store_id: str) -> admin_pb2.Store | None:
        row = await self._run(self._select_one, f"SELECT {_STORE_COLS} FROM stores WHERE store_id = ?", store_id)
        return None if row is None else _store(row)

    async def list_stores(self, page: PageRequest) -> list[admin_pb2.Store]:
        rows = await self._run(self._select_page, _STORE_COLS, "stores", "store_id", page)
        return [_store(r) for r in rows]

    async def update_store(self, store: admin_pb2.Store) -> None:
        values = (store.store_id, store.display_name, store.time_zone)
        await self._run(self._update_row, "stores", "store_id", "display_name, time_zone", values, "store")

    async def delete_store(self, store_id: str) -> None:
        children = [("line_item_stores", "store_id")]
        await self._run(self._delete_row, "stores", "store_id", store_id, "store", children)

    async def store_ids(self) -> frozenset[str]:
        def _ids() -> frozenset[str]:
            return frozenset(str(r[0]) for r in self.conn.execute("SELECT store_id FROM stores"))

        return await self._run(_ids)

    async def signing_key(self, store_id: str) -> bytes | None:
        row = await self._run(self._select_one, "SELECT signing_key FROM stores WHERE store_id = ?", store_id)
        if row is None:
            return None
        key = row[0]
        assert isinstance(key, bytes)
        return key

    async def import_catalog(
        self,
        store_id: str,
        aisles: Sequence[admin_pb2.Aisle],
        departments: Sequence[admin_pb2.Department],
        products: Sequence[admin_pb2.Product],
    ) -> None:
        def _import() -> None:
            with self._tx() as conn:
                if not self._exists(conn, "stores", "store_id", store_id):
                    raise NotFoundError(f"store {store_id!r} does not exist", "store_id")
                conn.executemany(
                    "INSERT OR REPLACE INTO aisles VALUES (?, ?, ?, ?)",
                    [(store_id, a.aisle_id, a.display_name, a.zone_id or f"zone-{a.aisle_id}") for a in aisles],
                )
                conn.executemany(
                    "INSERT OR REPLACE INTO departments VALUES (?, ?, ?)",
                    [(store_id, d.department_id, d.display_name) for d in departments],
                )
                conn.executemany(
                    "INSERT OR REPLACE INTO products VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (store_id, p.product_id, p.display_name, p.aisle_id, p.department_id, p.brand, p.price_micros)
                        for p in products
                    ],
                )

        await self._run(_import)

    async def catalog_parent_ids(self, store_id: str) -> tuple[frozenset[str], frozenset[str]]:
        def _ids() -> tuple[frozenset[str], frozenset[str]]:
            with self._read() as conn:
                aisles = frozenset(
                    str(r[0]) for r in conn.execute("SELECT aisle_id FROM aisles WHERE store_id = ?", (store_id,))
                )
                depts = frozenset(
                    str(r[0])
                    for r in conn.execute("SELECT department_id FROM departments WHERE store_id = ?", (store_id,))
                )
                return aisles, depts

        return await self._run(_ids)

    async def catalog_ids(self, store_ids: Sequence[str]) -> CatalogIds:
        def _ids() -> CatalogIds:
            # Ids from every named store (any store when none is named): a target need exist in one of them.
            if store_ids:
                marks = ", ".join("?" * len(store_ids))
                where, params = f"WHERE store_id IN ({marks})", tuple(store_ids)
            else:
                where, params = "", ()
            with self._read() as conn:

                def col(sql: str) -> frozenset[str]:
                    return frozenset(str(r[0]) for r in conn.execute(f"{sql} {where}", params))

                return CatalogIds(
                    product_ids=col("SELECT DISTINCT product_id FROM products"),
                    aisle_ids=col("SELECT DISTINCT aisle_id FROM aisles"),
                    department_ids=col("SELECT DISTINCT department_id FROM departments"),
                    zone_ids=col("SELECT DISTINCT zone_id FROM aisles"),
                )

        return await self._run(_ids)

    async def list_products(self, store_id: str, page: PageRequest) -> list[admin_pb2.Product]:
        cols = "product_id, display_name, aisle_id, department_id, brand, price_micros"
        rows = await self._run(self._select_page, cols, "products", "product_id", page, [("store_id", store_id)])
        return [
            admin_pb2.Product(
                product_id=str(r[0]),
                display_name=str(r[1]),
                aisle_id=str(r[2]),
                department_id=str(r[3]),
                brand=str(r[4]),
                price_micros=int(str(r[5])),
            )
            for r in rows
        ]

    async def list_aisles(self, store_id: str, page: PageRequest) -> list[admin_pb2.Aisle]:
        rows = await self._run(
            self._select_page, "aisle_id, display_name, zone_id", "aisles", "aisle_id", page, [("store_id", store_id)]
        )
        return [admin_pb2.Aisle(aisle_id=str(r[0]), display_name=str(r[1]), zone_id=str(r[2])) for r in rows]

    async def load_store_view(self, store_id: str) -> StoreView | None:
        return await self._run(self._load_store_view, store_id)

    def _load_store_view(self, store_id: str) -> StoreView | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_STORE_COLS}, signing_key FROM stores WHERE store_id = ?", (store_id,)
            ).fetchone()
            if row is None:
                return None
            store, key = _store(tuple(row)[:4]), bytes(row[4])
            aisles = tuple(
                admin_pb2.Aisle(aisle_id=r[0], display_name=r[1], zone_id=r[2])
                for r in conn.execute(
                    "SELECT aisle_id, display_name, zone_id FROM aisles WHERE store_id = ?", (store_id,)
                )
            )
            departments = tuple(
                admin_pb2.Department(department_id=r[0], display_name=r[1])
                for r in conn.execute(
                    "SELECT department_id, display_name FROM departments WHERE store_id = ?", (store_id,)
                )
            )
            products = tuple(
                admin_pb2.Product(
                    product_id=r[0], display_name=r[1], aisle_id=r[2], department_id=r[3], brand=r[4], price_micros=r[5]
                )
                for r in conn.execute(
                    "SELECT product_id, display_name, aisle_id, department_id, brand, price_micros "
                    "FROM products WHERE store_id = ?",
                    (store_id,),
                )
            )
            campaigns = tuple(_campaign(tuple(r)) for r in conn.execute(f"SELECT {_CAMPAIGN_COLS} FROM campaigns"))
            line_items = tuple(
                self._line_item(conn, tuple(r)) for r in conn.execute(f"SELECT {_LINE_ITEM_COLS} FROM line_items")
            )
            creatives = tuple(_creative(tuple(r)) for r in conn.execute(f"SELECT {_CREATIVE_COLS} FROM creatives"))
            spend = {
                str(r[0]): int(r[1])
                for r in conn.execute("SELECT campaign_id, SUM(spend_micros) FROM spend GROUP BY campaign_id")
            }
        return StoreView(
            store=store,
            signing_key=key,
            aisles=aisles,
            departments=departments,
            products=products,
            campaigns=campaigns,
            line_items=line_items,
            creatives=creatives,
            campaign_spend_micros=spend,
        )
