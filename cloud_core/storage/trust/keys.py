"""Edge signing keys, registered on the index stream and revoked by admins, and edge flags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud_core.events.charges import SigningKeyRecord
from cloud_core.storage import schema as t
from cloud_core.storage.protocol import Registration
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import insert

_k = t.edge_signing_keys.c
_e = t.edges.c
_KEY_COLUMNS = (
    _k.key_id,
    _k.store_id,
    _k.edge_id,
    _k.signing_key,
    _k.create_time_us,
    _k.revoke_time_us,
    _k.registered_by,
)


def _record(row: Sequence[Any]) -> SigningKeyRecord:
    key_id, store_id, edge_id, key, create_us, revoke_us, by = row
    return SigningKeyRecord(
        str(key_id), str(store_id), str(edge_id), bytes(key), int(create_us), int(revoke_us), str(by)
    )


class SqlSigningKeys:
    """The SigningKeyStore and EdgeFlagStore Protocols."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def register_key(  # noqa: PLR0917 - one positional per column of the key's row
        self, store_id: str, edge_id: str, key_id: str, key: bytes, registered_by: str, now_us: int
    ) -> Registration:
        """Record ``key_id`` for the edge unless it exists; a second edge (or other bytes) never takes it over."""

        def _register(conn: Connection) -> Registration:
            stmt = insert(conn, t.edge_signing_keys).values(
                key_id=key_id,
                store_id=store_id,
                edge_id=edge_id,
                signing_key=key,
                registered_by=registered_by,
                create_time_us=now_us,
                revoke_time_us=0,
            )
            conn.execute(stmt.on_conflict_do_nothing())
            row = conn.execute(sa.select(*_KEY_COLUMNS).where(_k.key_id == key_id)).one()
            record = _record(row)
            same = (record.store_id, record.edge_id, record.key) == (store_id, edge_id, key)
            return Registration(record, conflict=not same)

        return await self._db.write(_register)

    async def signing_keys(self, key_ids: Sequence[str]) -> dict[str, SigningKeyRecord]:
        """The records of ``key_ids`` that exist."""
        if not key_ids:
            return {}
        query = sa.select(*_KEY_COLUMNS).where(_k.key_id.in_(sorted(set(key_ids))))
        rows = await self._db.read(lambda conn: list(conn.execute(query)))
        return {str(r[0]): _record(r) for r in rows}

    async def edge_keys(self, store_id: str = "") -> list[SigningKeyRecord]:
        """Every key registered (of one store, or all), revoked ones included, by edge then time."""
        query = sa.select(*_KEY_COLUMNS).order_by(_k.store_id, _k.edge_id, _k.create_time_us, _k.key_id)
        if store_id:
            query = query.where(_k.store_id == store_id)
        rows = await self._db.read(lambda conn: list(conn.execute(query)))
        return [_record(r) for r in rows]

    async def revoke_key(self, key_id: str, now_us: int) -> SigningKeyRecord | None:
        """Revoke ``key_id`` from ``now_us`` on (an earlier revocation stands); None when unknown."""

        def _revoke(conn: Connection) -> SigningKeyRecord | None:
            conn.execute(
                sa.update(t.edge_signing_keys)
                .where(_k.key_id == key_id, _k.revoke_time_us == 0)
                .values(revoke_time_us=now_us)
            )
            row = conn.execute(sa.select(*_KEY_COLUMNS).where(_k.key_id == key_id)).first()
            return _record(row) if row is not None else None

        return await self._db.write(_revoke)

    async def flag_edge(self, store_id: str, edge_id: str, reason: str, count: int, now_us: int) -> None:
        """Flag the edge for ``count`` refused charges, the latest for ``reason`` (a row is made for an
        edge that uploads without ever having opened its index stream)."""

        def _flag(conn: Connection) -> None:
            stmt = insert(conn, t.edges).values(
                store_id=store_id,
                edge_id=edge_id,
                applied_version="",
                last_nonce="",
                last_error="",
                last_seen_us=now_us,
                flagged=1,
                flag_reason=reason,
                flag_time_us=now_us,
                flag_count=count,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["store_id", "edge_id"],
                set_={
                    "flagged": 1,
                    "flag_reason": stmt.excluded.flag_reason,
                    "flag_time_us": stmt.excluded.flag_time_us,
                    "flag_count": _e.flag_count + stmt.excluded.flag_count,
                },
            )
            conn.execute(stmt)

        await self._db.write(_flag)

    async def clear_flag(self, store_id: str, edge_id: str) -> bool:
        """Clear the edge's flag (its count stays); False when the edge is unknown."""
        query = (
            sa.update(t.edges)
            .where(_e.store_id == store_id, _e.edge_id == edge_id)
            .values(flagged=0, flag_reason="", flag_time_us=0)
        )
        return bool(await self._db.write(lambda conn: conn.execute(query).rowcount))
