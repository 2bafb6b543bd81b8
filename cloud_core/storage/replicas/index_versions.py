"""The index versions shared by cloud replicas: compiled versions (serialized bytes) and each store's
newest one, and the compile leases that let one replica compile a store at a time."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud_core.storage import schema as t
from cloud_core.storage.protocol import IndexHead, StoredIndex
from cloud_core.storage.sql.database import POSTGRESQL, Database
from cloud_core.storage.sql.rows import chunks, insert

# Replicas LISTEN on it (PostgreSQL): a store's newly stored head is announced here, its id the payload.
INDEX_STORED_CHANNEL = "cartads_index_stored"

_h = t.compiled_index_heads.c
_v = t.compiled_indexes.c
_l = t.compile_leases.c
_c = t.index_changes.c


def _generations(conn: Connection, store_ids: Sequence[str]) -> dict[str, int]:
    """Each store's change counter: its own row plus the every-store row ('')."""
    every = conn.execute(sa.select(_c.generation).where(_c.store_id == "")).scalar() or 0
    own: dict[str, int] = {}
    for part in chunks(list(store_ids)):
        own.update(
            {
                str(s): int(g)
                for s, g in conn.execute(sa.select(_c.store_id, _c.generation).where(_c.store_id.in_(part)))
            }
        )
    return {s: int(every) + own.get(s, 0) for s in store_ids}


def _heads(conn: Connection, store_ids: Sequence[str]) -> dict[str, IndexHead]:
    out: dict[str, IndexHead] = {}
    for part in chunks(list(store_ids)):
        query = sa.select(_h.store_id, _h.version, _h.generation, _h.compiled_us).where(_h.store_id.in_(part))
        out.update({str(s): IndexHead(str(v), int(g), int(c)) for s, v, g, c in conn.execute(query)})
    return out


class SqlIndexStore:
    """The IndexVersionStore Protocol over the cloud's database (both engines)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def generations_and_heads(self, store_ids: Sequence[str]) -> tuple[dict[str, int], dict[str, IndexHead]]:
        """Each store's change counter and its stored head (absent when none), read in one snapshot."""
        ids = sorted(set(store_ids))
        return await self._db.read(lambda conn: (_generations(conn, ids), _heads(conn, ids)))

    async def load(self, store_id: str, version: str) -> bytes | None:
        """The serialized index ``version`` of the store, None when it is not (or no longer) stored."""
        query = sa.select(_v.data).where(_v.store_id == store_id, _v.version == version)
        data = await self._db.read(lambda conn: conn.execute(query).scalar())
        return None if data is None else bytes(data)

    async def try_leases(self, store_ids: Sequence[str], holder: str, now_us: int, lease_us: int) -> set[str]:
        """Take (or renew) the compile lease of each store that is free, expired or already ours; the
        stores whose lease is now ``holder``'s."""
        ids = sorted(set(store_ids))
        expires = now_us + lease_us

        def _take(conn: Connection) -> set[str]:
            won: set[str] = set()
            # In key order, so concurrent takers lock rows in the same order (no deadlocks).
            for store_id in ids:
                stmt = insert(conn, t.compile_leases).values(store_id=store_id, holder=holder, expires_us=expires)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["store_id"],
                    set_={"holder": holder, "expires_us": expires},
                    where=sa.or_(_l.expires_us <= now_us, _l.holder == holder),
                ).returning(_l.store_id)
                if conn.execute(stmt).first() is not None:
                    won.add(store_id)
            return won

        return await self._db.write(_take)

    async def release_leases(self, store_ids: Sequence[str], holder: str) -> None:
        """Give up ``holder``'s leases of ``store_ids`` (a failed compile: another replica may try)."""
        ids = sorted(set(store_ids))

        def _release(conn: Connection) -> None:
            for part in chunks(ids):
                conn.execute(sa.delete(t.compile_leases).where(_l.store_id.in_(part), _l.holder == holder))

        await self._db.write(_release)

    async def save(self, stored: Sequence[StoredIndex], holder: str, keep_versions: int) -> None:
        """Store the compiled versions, make each its store's head, keep each store's newest
        ``keep_versions``, release ``holder``'s leases of those stores, and announce them."""
        if not stored:
            return
        rows = sorted(stored, key=lambda s: s.store_id)
        keep = max(1, keep_versions)

        def _save(conn: Connection) -> None:
            for s in rows:
                version = insert(conn, t.compiled_indexes).values(
                    store_id=s.store_id,
                    version=s.version,
                    generation=s.generation,
                    compiled_us=s.compiled_us,
                    size_bytes=len(s.data),
                    data=s.data,
                )
                # The same content compiled again (nothing changed): the newer generation and time.
                conn.execute(
                    version.on_conflict_do_update(
                        index_elements=["store_id", "version"],
                        set_={"generation": s.generation, "compiled_us": s.compiled_us},
                    )
                )
                head = insert(conn, t.compiled_index_heads).values(
                    store_id=s.store_id,
                    version=s.version,
                    generation=s.generation,
                    compiled_us=s.compiled_us,
                    replica_id=holder,
                )
                # Never replaced by an older compile (a lease that expired under a slow compiler).
                conn.execute(
                    head.on_conflict_do_update(
                        index_elements=["store_id"],
                        set_={
                            "version": s.version,
                            "generation": s.generation,
                            "compiled_us": s.compiled_us,
                            "replica_id": holder,
                        },
                        where=sa.or_(
                            _h.generation < s.generation,
                            sa.and_(_h.generation == s.generation, _h.compiled_us <= s.compiled_us),
                        ),
                    )
                )
                newest = (
                    sa.select(_v.version)
                    .where(_v.store_id == s.store_id)
                    .order_by(_v.compiled_us.desc(), _v.version)
                    .limit(keep)
                )
                conn.execute(
                    sa.delete(t.compiled_indexes).where(
                        _v.store_id == s.store_id, _v.version.not_in(newest.scalar_subquery())
                    )
                )
            ids = [s.store_id for s in rows]
            for part in chunks(ids):
                conn.execute(sa.delete(t.compile_leases).where(_l.store_id.in_(part), _l.holder == holder))
            if conn.dialect.name == POSTGRESQL:
                # Delivered at commit: replicas waiting on these stores' leases read the heads now.
                for part in chunks(ids, 200):
                    conn.execute(sa.select(sa.func.pg_notify(INDEX_STORED_CHANNEL, ",".join(part))))

        await self._db.write(_save)
