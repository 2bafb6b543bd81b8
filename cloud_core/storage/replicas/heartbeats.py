"""Replica heartbeats: each replica's last sign of life, and the edges of replicas that stopped beating."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud_core.storage import schema as t
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import insert

_b = t.replica_heartbeats.c
_e = t.edges.c


class SqlReplicas:
    """The ReplicaStore Protocol: heartbeats, and the edges of replicas that stopped beating."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def beat(self, replica_id: str, started_us: int, now_us: int) -> int:
        """Record that ``replica_id`` is alive at ``now_us``; its previous heartbeat (0 when none)."""

        def _beat(conn: Connection) -> int:
            previous = conn.execute(sa.select(_b.heartbeat_us).where(_b.replica_id == replica_id)).scalar()
            stmt = insert(conn, t.replica_heartbeats).values(
                replica_id=replica_id, started_us=started_us, heartbeat_us=now_us
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["replica_id"], set_={"started_us": started_us, "heartbeat_us": now_us}
                )
            )
            return int(previous or 0)

        return await self._db.write(_beat)

    async def disconnect_silent(self, now_us: int, timeout_us: int) -> int:
        """Mark disconnected the edges held by replicas with no heartbeat since ``now_us - timeout_us``
        (or none at all); how many edges were marked."""
        alive = sa.select(_b.replica_id).where(_b.heartbeat_us > now_us - timeout_us)
        query = (
            sa.update(t.edges)
            .where(_e.connected != 0, _e.replica_id.not_in(alive.scalar_subquery()))
            .values(connected=0)
        )
        return await self._db.write(lambda conn: int(conn.execute(query).rowcount or 0))

    async def reconnect(self, replica_id: str, edges: Sequence[tuple[str, str]]) -> None:
        """The streams this replica still holds are connected (after a gap in its heartbeats let
        another replica mark them disconnected)."""
        keys = sorted(set(edges))

        def _mark(conn: Connection) -> None:
            for store_id, edge_id in keys:
                conn.execute(
                    sa.update(t.edges)
                    .where(_e.store_id == store_id, _e.edge_id == edge_id, _e.replica_id == replica_id)
                    .values(connected=1)
                )

        if keys:
            await self._db.write(_mark)

    async def forget(self, replica_id: str) -> None:
        """The replica stopped cleanly: its heartbeat row goes."""
        query = sa.delete(t.replica_heartbeats).where(_b.replica_id == replica_id)
        await self._db.write(lambda conn: conn.execute(query))
