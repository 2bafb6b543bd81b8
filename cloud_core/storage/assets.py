"""Uploaded assets (content-addressed images) and the catalog lookups creatives need."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cartads.v1 import asset_pb2, common_pb2
from cloud_core.storage import schema as t
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import chunks, insert

_a = t.assets.c


class SqlAssets:
    """The AssetStore Protocol: assets keyed by sha256, and the catalog lookups creatives need."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def put_asset(self, asset: asset_pb2.Asset, sanitized: bool, create_time_us: int) -> bool:
        """Store ``asset`` unless its hash is already stored; True when it was new."""
        values = {
            "sha256": asset.sha256,
            "content_type": asset.content_type,
            "width": asset.width,
            "height": asset.height,
            "size_bytes": len(asset.data),
            "sanitized": int(sanitized),
            "data": asset.data,
            "create_time_us": create_time_us,
        }

        def _put(conn: Connection) -> bool:
            put = insert(conn, t.assets).values(**values).on_conflict_do_nothing().returning(_a.sha256)
            return conn.execute(put).first() is not None

        return await self._db.write(_put)

    async def get_assets(self, sha256s: Sequence[str]) -> list[asset_pb2.Asset]:
        """The stored assets among ``sha256s`` (unknown hashes are left out)."""

        def _get(conn: Connection) -> list[asset_pb2.Asset]:
            out: list[asset_pb2.Asset] = []
            for chunk in chunks(sha256s):
                query = sa.select(_a.sha256, _a.content_type, _a.width, _a.height, _a.data).where(_a.sha256.in_(chunk))
                out.extend(
                    asset_pb2.Asset(sha256=r[0], content_type=r[1], width=r[2], height=r[3], data=bytes(r[4]))
                    for r in conn.execute(query)
                )
            return out

        return await self._db.read(_get)

    async def asset_infos(self, sha256s: Sequence[str]) -> dict[str, asset_pb2.AssetInfo]:
        """Metadata (no bytes) of the stored assets among ``sha256s``."""

        def _get(conn: Connection) -> dict[str, asset_pb2.AssetInfo]:
            out: dict[str, asset_pb2.AssetInfo] = {}
            for chunk in chunks(sha256s):
                query = sa.select(_a.sha256, _a.content_type, _a.width, _a.height, _a.size_bytes, _a.sanitized).where(
                    _a.sha256.in_(chunk)
                )
                for row in conn.execute(query):
                    out[row[0]] = asset_pb2.AssetInfo(
                        sha256=row[0],
                        content_type=row[1],
                        width=row[2],
                        height=row[3],
                        size_bytes=row[4],
                        sanitized=bool(row[5]),
                    )
            return out

        return await self._db.read(_get)

    async def known_product_ids(self, product_ids: Sequence[str]) -> frozenset[str]:
        """Of ``product_ids``, those in at least one store's catalog."""
        p = t.products.c

        def _get(conn: Connection) -> frozenset[str]:
            found: set[str] = set()
            for chunk in chunks(product_ids):
                found.update(conn.execute(sa.select(p.product_id).distinct().where(p.product_id.in_(chunk))).scalars())
            return frozenset(found)

        return await self._db.read(_get)

    async def card_products(self, store_id: str) -> list[tuple[str, int]]:
        """(name, price) of this store's products that sponsored creatives without an image promote."""
        c, p = t.creatives.c, t.products.c
        query = (
            sa.select(p.display_name, p.price_micros)
            .distinct()
            .select_from(
                t.creatives.join(t.products, sa.and_(p.store_id == store_id, p.product_id == c.promoted_product_id))
            )
            .where(c.format == int(common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT), c.image_asset_sha256 == "")
        )
        rows = await self._db.read(lambda conn: list(conn.execute(query)))
        return [(str(name), int(price)) for name, price in rows]
