"""Edge sync status: one row per (store, edge), updated by its index stream on some cloud replica."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cartads.time_units import us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin.pagination import PageRequest, split_edge_page_key
from cloud_core.storage import schema as t
from cloud_core.storage.ivt import edge_disagreements
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import insert

ACK = "ACK"
NACK = "NACK"
# Separates store and edge id in a page token's resume key; ids never hold it (they are validated).

_e = t.edges.c
_COLUMNS = (
    _e.store_id,
    _e.edge_id,
    _e.applied_version,
    _e.current_version,
    _e.connected,
    _e.last_answer,
    _e.last_nonce,
    _e.last_ack_time_us,
    _e.last_nack_time_us,
    _e.last_error,
    _e.last_nack_version,
    _e.last_seen_us,
    _e.flagged,
    _e.flag_reason,
    _e.flag_time_us,
    _e.flag_count,
)


def _row_to_status(row: Sequence[Any]) -> admin_pb2.EdgeStatus:
    (store_id, edge_id, applied, current, connected, answer, nonce, ack_us, nack_us, error, nack_version, seen_us) = (
        row[:12]
    )
    flagged, flag_reason, flag_us, flag_count = row[12:]
    status = admin_pb2.EdgeStatus(
        flagged=bool(flagged),
        flag_reason=flag_reason,
        flag_count=int(flag_count),
        store_id=store_id,
        edge_id=edge_id,
        applied_version=applied,
        current_version=current,
        connected=bool(connected),
        last_answer=answer,
        last_nonce=nonce,
        last_error=error,
        last_nack_version=nack_version,
    )
    times = (
        ("last_ack_time", ack_us),
        ("last_nack_time", nack_us),
        ("last_seen_time", seen_us),
        ("flag_time", flag_us),
    )
    for name, value in times:
        if value:
            getattr(status, name).CopyFrom(us_to_ts(int(value)))
    return status


def _gone_local_process(replica_id: str) -> bool:
    """Whether ``replica_id`` is a default HOSTNAME:PID id of a process of this host that has exited."""
    host, _, pid = replica_id.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _key(store_id: str, edge_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(_e.store_id == store_id, _e.edge_id == edge_id)


def _seen(now_us: int) -> sa.ColumnElement[int]:
    """``last_seen_us`` moved forward to ``now_us``, never back."""
    return sa.case((_e.last_seen_us > now_us, _e.last_seen_us), else_=now_us)


class SqlEdges:
    """The EdgeStatusStore Protocol: edge status for AdminService.ListEdges, written by IndexSyncService streams.

    ``replica_id`` names this cloud process: the rows of the streams it holds carry it, so a replica
    that restarts marks only its own edges disconnected, never those another replica serves.
    """

    def __init__(self, db: Database, replica_id: str = "") -> None:
        self._db = db
        self._replica_id = replica_id

    async def edge_connected(self, store_id: str, edge_id: str, version: str, now_us: int) -> None:
        """The edge opened its stream (on this replica) holding ``version``."""
        replica = self._replica_id

        def _upsert(conn: Connection) -> None:
            stmt = insert(conn, t.edges).values(
                store_id=store_id,
                edge_id=edge_id,
                applied_version=version,
                last_nonce="",
                last_error="",
                last_seen_us=now_us,
                connected=1,
                replica_id=replica,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["store_id", "edge_id"],
                set_={
                    "applied_version": stmt.excluded.applied_version,
                    "last_seen_us": stmt.excluded.last_seen_us,
                    "connected": 1,
                    "replica_id": stmt.excluded.replica_id,
                },
            )
            conn.execute(stmt)

        await self._db.write(_upsert)

    async def edge_disconnected(self, store_id: str, edge_id: str, now_us: int) -> None:
        """The edge's stream on this replica ended (a newer stream on another replica is left alone)."""
        query = (
            sa.update(t.edges)
            .where(_key(store_id, edge_id), _e.replica_id == self._replica_id)
            .values(connected=0, last_seen_us=_seen(now_us))
        )
        await self._db.write(lambda conn: conn.execute(query))

    async def disconnect_all_edges(self) -> None:
        """No stream survives a restart: mark this replica's edges disconnected until they come back.

        Also those of earlier processes on this host that are gone (a restarted replica with the
        default HOSTNAME:PID id has a new id); other replicas' rows are theirs to keep.
        """

        def _update(conn: Connection) -> None:
            holders = conn.execute(sa.select(_e.replica_id).distinct().where(_e.connected != 0)).scalars()
            gone = [r for r in holders if r == self._replica_id or _gone_local_process(r)]
            if gone:
                conn.execute(sa.update(t.edges).where(_e.connected != 0, _e.replica_id.in_(gone)).values(connected=0))

        await self._db.write(_update)

    async def edge_update_sent(self, store_id: str, edge_id: str, version: str, nonce: str, now_us: int) -> None:
        """The cloud pushed ``version`` to the edge."""
        values = {"current_version": version, "last_seen_us": _seen(now_us)}
        query = sa.update(t.edges).where(_key(store_id, edge_id)).values(**values)
        await self._db.write(lambda conn: conn.execute(query))

    async def edge_answered(
        self, store_id: str, edge_id: str, *, version: str, nonce: str, error: str, refused_version: str, now_us: int
    ) -> None:
        """The edge ACKed (``error`` empty) or NACKed the update ``nonce``; it serves ``version``."""
        values: dict[str, object] = {
            "applied_version": version,
            "last_nonce": nonce,
            "last_seen_us": now_us,
        }
        if error:
            values |= {
                "last_answer": NACK,
                "last_error": error,
                "last_nack_version": refused_version,
                "last_nack_time_us": now_us,
            }
        else:
            values |= {"last_answer": ACK, "last_error": "", "last_ack_time_us": now_us}
        query = sa.update(t.edges).where(_key(store_id, edge_id)).values(**values)
        await self._db.write(lambda conn: conn.execute(query))

    async def list_edges(self, store_id: str, page: PageRequest) -> list[admin_pb2.EdgeStatus]:
        """Edges ordered by (store, edge), optionally of one store; ``page.limit + 1`` rows at most."""
        after_store, after_edge = split_edge_page_key(page.after_id)
        query = sa.select(*_COLUMNS).where(sa.tuple_(_e.store_id, _e.edge_id) > sa.tuple_(after_store, after_edge))
        if store_id:
            query = query.where(_e.store_id == store_id)
        query = query.order_by(_e.store_id, _e.edge_id).limit(page.limit + 1)

        def _read(conn: Connection) -> tuple[list[Any], dict[str, int]]:
            return list(conn.execute(query)), edge_disagreements(conn, store_id)

        rows, disagreements = await self._db.read(_read)
        out = [_row_to_status(r) for r in rows]
        for status in out:
            status.ivt_disagreements = disagreements.get(f"{status.store_id}/{status.edge_id}", 0)
        return out
