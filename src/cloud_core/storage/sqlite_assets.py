"""SQLite rows for uploaded assets (content-addressed images) and the catalog lookups creatives need."""

from __future__ import annotations

from collections.abc import Sequence

from cartads.v1 import asset_pb2, common_pb2
from cloud_core.storage.sqlite_base import SqliteBase

# SQLite's default limit on host parameters is far above this; chunks keep each statement small.
_IN_CHUNK = 500


def _chunks(values: Sequence[str]) -> list[list[str]]:
    unique = sorted(set(values))
    return [unique[i : i + _IN_CHUNK] for i in range(0, len(unique), _IN_CHUNK)]


class SqliteAssetsMixin(SqliteBase):
    """Assets keyed by sha256; every public method runs its SQL on the worker thread."""

    async def put_asset(self, asset: asset_pb2.Asset, sanitized: bool, create_time_us: int) -> bool:
        """Store ``asset`` unless its hash is already stored; True when it was new."""

        def _put() -> bool:
            with self._tx() as conn:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO assets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        asset.sha256,
                        asset.content_type,
                        asset.width,
                        asset.height,
                        len(asset.data),
                        int(sanitized),
                        asset.data,
                        create_time_us,
                    ),
                )
                return cur.rowcount == 1

        return await self._run(_put)

    async def get_assets(self, sha256s: Sequence[str]) -> list[asset_pb2.Asset]:
        """The stored assets among ``sha256s`` (unknown hashes are left out)."""

        def _get() -> list[asset_pb2.Asset]:
            out: list[asset_pb2.Asset] = []
            for chunk in _chunks(sha256s):
                marks = ", ".join("?" * len(chunk))
                for row in self.conn.execute(
                    f"SELECT sha256, content_type, width, height, data FROM assets WHERE sha256 IN ({marks})", chunk
                ):
                    out.append(
                        asset_pb2.Asset(
                            sha256=row[0], content_type=row[1], width=row[2], height=row[3], data=bytes(row[4])
                        )
                    )
            return out

        return await self._run(_get)

    async def asset_infos(self, sha256s: Sequence[str]) -> dict[str, asset_pb2.AssetInfo]:
        """Metadata (no bytes) of the stored assets among ``sha256s``."""

        def _get() -> dict[str, asset_pb2.AssetInfo]:
            out: dict[str, asset_pb2.AssetInfo] = {}
            for chunk in _chunks(sha256s):
                marks = ", ".join("?" * len(chunk))
                for row in self.conn.execute(
                    "SELECT sha256, content_type, width, height, size_bytes, sanitized FROM assets "
                    f"WHERE sha256 IN ({marks})",
                    chunk,
                ):
                    out[row[0]] = asset_pb2.AssetInfo(
                        sha256=row[0],
                        content_type=row[1],
                        width=row[2],
                        height=row[3],
                        size_bytes=row[4],
                        sanitized=bool(row[5]),
                    )
            return out

        return await self._run(_get)

    async def known_product_ids(self, product_ids: Sequence[str]) -> frozenset[str]:
        """Of ``product_ids``, those in at least one store's catalog."""

        def _get() -> frozenset[str]:
            found: set[str] = set()
            for chunk in _chunks(product_ids):
                marks = ", ".join("?" * len(chunk))
                found.update(
                    str(r[0])
                    for r in self.conn.execute(
                        f"SELECT DISTINCT product_id FROM products WHERE product_id IN ({marks})", chunk
                    )
                )
            return frozenset(found)

        return await self._run(_get)

    async def card_products(self, store_id: str) -> list[tuple[str, int]]:
        """(name, price) of this store's products that sponsored creatives without an image promote."""

        def _get() -> list[tuple[str, int]]:
            rows = self.conn.execute(
                "SELECT DISTINCT p.display_name, p.price_micros FROM creatives c "
                "JOIN products p ON p.store_id = ? AND p.product_id = c.promoted_product_id "
                "WHERE c.format = ? AND c.image_asset_sha256 = ''",
                (store_id, int(common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT)),
            )
            return [(str(r[0]), int(r[1])) for r in rows]

        return await self._run(_get)
