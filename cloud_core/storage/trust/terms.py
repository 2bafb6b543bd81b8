"""The index versions sent to each store and the terms each granted, read back at ingest."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud_core.compile.terms import VersionTerms, decode_terms
from cloud_core.events.charges import ChargeRecords
from cloud_core.storage import schema as t
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import insert
from cloud_core.storage.trust.keys import SqlSigningKeys

_s = t.index_versions_sent.c
_terms = t.index_terms.c
_LEGACY_SINCE = "per_edge_keys_since_us"
# Terms are keyed by a content hash, so a cached copy never goes stale (only out of retention, which
# the sent rows decide).
_CACHED_VERSIONS = 512


class SqlTerms:
    """The TermsStore Protocol: record what was sent, and gather what an upload's tokens name."""

    def __init__(self, db: Database, keys: SqlSigningKeys) -> None:
        self._db = db
        self._keys = keys
        self._cache: OrderedDict[str, VersionTerms] = OrderedDict()

    async def record_sent(  # noqa: PLR0917 - the version, its terms and assets, when, for how long
        self,
        store_id: str,
        version: str,
        encoded_terms: bytes,
        assets: Sequence[str],
        now_us: int,
        retention_us: int,
    ) -> None:
        """``version`` (with its terms and assets) was sent to ``store_id`` at ``now_us``; records older
        than the retention are dropped on the way."""

        def _record(conn: Connection) -> None:
            if assets:
                rows = [{"store_id": store_id, "sha256": sha, "create_time_us": now_us} for sha in sorted(set(assets))]
                conn.execute(insert(conn, t.store_assets).on_conflict_do_nothing(), rows)
            terms = insert(conn, t.index_terms).values(
                version=version, store_id=store_id, terms=encoded_terms, create_time_us=now_us
            )
            conn.execute(terms.on_conflict_do_nothing())
            sent = insert(conn, t.index_versions_sent).values(
                store_id=store_id, version=version, first_sent_us=now_us, last_sent_us=now_us
            )
            conn.execute(
                sent.on_conflict_do_update(
                    index_elements=["store_id", "version"], set_={"last_sent_us": sent.excluded.last_sent_us}
                )
            )
            cutoff = now_us - retention_us
            conn.execute(sa.delete(t.index_versions_sent).where(_s.last_sent_us < cutoff))
            kept = sa.select(_s.version)
            conn.execute(sa.delete(t.index_terms).where(_terms.create_time_us < cutoff, _terms.version.not_in(kept)))

        await self._db.write(_record)

    async def referenced_assets(self, store_id: str, sha256s: Sequence[str]) -> set[str]:
        """Those of ``sha256s`` that an index version sent to ``store_id`` referenced."""
        a = t.store_assets.c
        query = sa.select(a.sha256).where(a.store_id == store_id, a.sha256.in_(sorted(set(sha256s))))
        return {str(s) for s in await self._db.read(lambda conn: list(conn.execute(query).scalars()))}

    async def legacy_since_us(self, now_us: int) -> int:
        """When this database began recording per-edge keys: set by migration 0007, or ``now_us`` by
        the first caller when the row is missing (a database emptied after migrating)."""
        c = t.cloud_settings.c

        def _read(conn: Connection) -> int:
            stmt = insert(conn, t.cloud_settings).values(name=_LEGACY_SINCE, value=now_us)
            conn.execute(stmt.on_conflict_do_nothing())
            return int(conn.execute(sa.select(c.value).where(c.name == _LEGACY_SINCE)).scalar_one())

        return await self._db.write(_read)

    async def charge_records(self, store_id: str, key_ids: Sequence[str], versions: Sequence[str]) -> ChargeRecords:
        """The keys ``key_ids`` name, and of ``versions`` those sent to ``store_id`` with their terms."""
        keys = await self._keys.signing_keys(key_ids)
        wanted = sorted(set(versions))
        if not wanted:
            return ChargeRecords(keys=keys)

        def _read(conn: Connection) -> tuple[dict[str, int], dict[str, bytes]]:
            sent = {
                str(v): int(first)
                for v, first in conn.execute(
                    sa.select(_s.version, _s.first_sent_us).where(_s.store_id == store_id, _s.version.in_(wanted))
                )
            }
            missing = [v for v in sent if v not in self._cache]
            raw = (
                {
                    str(v): bytes(b)
                    for v, b in conn.execute(sa.select(_terms.version, _terms.terms).where(_terms.version.in_(missing)))
                }
                if missing
                else {}
            )
            return sent, raw

        sent, raw = await self._db.read(_read)
        for version, blob in raw.items():
            self._cache[version] = decode_terms(blob)
            while len(self._cache) > _CACHED_VERSIONS:
                self._cache.popitem(last=False)
        terms = {v: self._cache[v] for v in sent if v in self._cache}
        return ChargeRecords(keys=keys, sent_us=sent, terms=terms)
