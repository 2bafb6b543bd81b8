"""The index versions sent to each store and the terms each granted, read back at ingest."""

from __future__ import annotations

import dataclasses
import hashlib
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
# Terms are keyed by the sha256 of their encoding, so a cached copy never goes stale.
_CACHED_TERMS = 256


class SqlTerms:
    """The TermsStore Protocol: record what was sent, and gather what an upload's tokens name."""

    def __init__(self, db: Database, keys: SqlSigningKeys) -> None:
        self._db = db
        self._keys = keys
        # Decoded once per digest; a version's terms are these under its own version and store.
        self._cache: OrderedDict[str, VersionTerms] = OrderedDict()

    async def record_sent(
        self, store_id: str, version: str, encoded_terms: bytes, assets: Sequence[str], now_us: int
    ) -> None:
        """``version`` (with its terms and assets) was sent to ``store_id`` at ``now_us``."""
        digest = hashlib.sha256(encoded_terms).hexdigest()

        def _record(conn: Connection) -> None:
            terms = insert(conn, t.index_terms).values(terms_sha256=digest, terms=encoded_terms, create_time_us=now_us)
            conn.execute(terms.on_conflict_do_nothing())
            sent = insert(conn, t.index_versions_sent).values(
                store_id=store_id, version=version, terms_sha256=digest, first_sent_us=now_us, last_sent_us=now_us
            )
            conn.execute(
                sent.on_conflict_do_update(
                    index_elements=["store_id", "version"], set_={"last_sent_us": sent.excluded.last_sent_us}
                )
            )
            if assets:
                rows = [{"store_id": store_id, "sha256": sha, "create_time_us": now_us} for sha in sorted(set(assets))]
                conn.execute(insert(conn, t.store_assets).on_conflict_do_nothing(), rows)

        await self._db.write(_record)

    async def forget_sent_before(self, cutoff_us: int) -> None:
        """Drop the versions last sent before ``cutoff_us`` (past retention) and terms no version uses."""

        def _prune(conn: Connection) -> None:
            conn.execute(sa.delete(t.index_versions_sent).where(_s.last_sent_us < cutoff_us))
            used = sa.select(_s.terms_sha256)
            conn.execute(
                sa.delete(t.index_terms).where(_terms.create_time_us < cutoff_us, _terms.terms_sha256.not_in(used))
            )

        await self._db.write(_prune)

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

        def _read(conn: Connection) -> tuple[dict[str, tuple[int, str]], dict[str, bytes]]:
            sent = {
                str(v): (int(first), str(digest))
                for v, first, digest in conn.execute(
                    sa.select(_s.version, _s.first_sent_us, _s.terms_sha256).where(
                        _s.store_id == store_id, _s.version.in_(wanted)
                    )
                )
            }
            missing = sorted({digest for _, digest in sent.values() if digest not in self._cache})
            raw = (
                {
                    str(d): bytes(b)
                    for d, b in conn.execute(
                        sa.select(_terms.terms_sha256, _terms.terms).where(_terms.terms_sha256.in_(missing))
                    )
                }
                if missing
                else {}
            )
            return sent, raw

        sent, raw = await self._db.read(_read)
        for digest, blob in raw.items():
            self._cache[digest] = decode_terms(blob, "", "")
            while len(self._cache) > _CACHED_TERMS:
                self._cache.popitem(last=False)
        terms: dict[str, VersionTerms] = {}
        for version, (_, digest) in sent.items():
            found = self._cache.get(digest)
            if found is not None:
                terms[version] = dataclasses.replace(found, version=version, store_id=store_id)
        return ChargeRecords(keys=keys, sent_us={v: first for v, (first, _) in sent.items()}, terms=terms)
