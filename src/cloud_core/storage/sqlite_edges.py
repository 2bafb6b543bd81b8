"""SQLite rows for edge sync status: one row per (store, edge), updated by its index stream."""

from __future__ import annotations

import sqlite3

from cartads.v1 import admin_pb2
from cloud_core.pagination import PageRequest
from cloud_core.storage.sqlite_base import SqliteBase
from cloud_core.timeutil import us_to_ts

ACK = "ACK"
NACK = "NACK"
# Separates store and edge id in a page token's resume key; ids never hold it (they are validated).
_KEY_SEP = "\n"

_COLUMNS = (
    "store_id, edge_id, applied_version, current_version, connected, last_answer, last_nonce, "
    "last_ack_time_us, last_nack_time_us, last_error, last_nack_version, last_seen_us"
)


def edge_page_key(status: admin_pb2.EdgeStatus) -> str:
    """The resume key of a page ending at ``status``."""
    return f"{status.store_id}{_KEY_SEP}{status.edge_id}"


def _row_to_status(row: sqlite3.Row | tuple[object, ...]) -> admin_pb2.EdgeStatus:
    (store_id, edge_id, applied, current, connected, answer, nonce, ack_us, nack_us, error, nack_version, seen_us) = row
    status = admin_pb2.EdgeStatus(
        store_id=str(store_id),
        edge_id=str(edge_id),
        applied_version=str(applied),
        current_version=str(current),
        connected=bool(connected),
        last_answer=str(answer),
        last_nonce=str(nonce),
        last_error=str(error),
        last_nack_version=str(nack_version),
    )
    for name, value in (("last_ack_time", ack_us), ("last_nack_time", nack_us), ("last_seen_time", seen_us)):
        if isinstance(value, int) and value:
            getattr(status, name).CopyFrom(us_to_ts(value))
    return status


class SqliteEdgesMixin(SqliteBase):
    """Edge status for AdminService.ListEdges, written by IndexSyncService streams."""

    async def edge_connected(self, store_id: str, edge_id: str, version: str, now_us: int) -> None:
        """The edge opened its stream holding ``version``."""

        def _upsert() -> None:
            with self._tx() as conn:
                conn.execute(
                    "INSERT INTO edges (store_id, edge_id, applied_version, last_nonce, last_error, last_seen_us, "
                    "connected) VALUES (?, ?, ?, '', '', ?, 1) ON CONFLICT (store_id, edge_id) DO UPDATE SET "
                    "applied_version = excluded.applied_version, last_seen_us = excluded.last_seen_us, connected = 1",
                    (store_id, edge_id, version, now_us),
                )

        await self._run(_upsert)

    async def edge_disconnected(self, store_id: str, edge_id: str, now_us: int) -> None:
        """The edge's stream ended."""

        def _update() -> None:
            with self._tx() as conn:
                conn.execute(
                    "UPDATE edges SET connected = 0, last_seen_us = MAX(last_seen_us, ?) "
                    "WHERE store_id = ? AND edge_id = ?",
                    (now_us, store_id, edge_id),
                )

        await self._run(_update)

    async def disconnect_all_edges(self) -> None:
        """No stream survives a cloud restart: mark every edge disconnected until it comes back."""

        def _update() -> None:
            with self._tx() as conn:
                conn.execute("UPDATE edges SET connected = 0 WHERE connected != 0")

        await self._run(_update)

    async def edge_update_sent(self, store_id: str, edge_id: str, version: str, nonce: str, now_us: int) -> None:
        """The cloud pushed ``version`` to the edge."""

        def _update() -> None:
            with self._tx() as conn:
                conn.execute(
                    "UPDATE edges SET current_version = ?, last_seen_us = MAX(last_seen_us, ?) "
                    "WHERE store_id = ? AND edge_id = ?",
                    (version, now_us, store_id, edge_id),
                )

        await self._run(_update)

    async def edge_answered(
        self, store_id: str, edge_id: str, *, version: str, nonce: str, error: str, refused_version: str, now_us: int
    ) -> None:
        """The edge ACKed (``error`` empty) or NACKed the update ``nonce``; it serves ``version``."""

        def _update() -> None:
            with self._tx() as conn:
                if error:
                    conn.execute(
                        "UPDATE edges SET applied_version = ?, last_nonce = ?, last_answer = ?, last_error = ?, "
                        "last_nack_version = ?, last_nack_time_us = ?, last_seen_us = ? "
                        "WHERE store_id = ? AND edge_id = ?",
                        (version, nonce, NACK, error, refused_version, now_us, now_us, store_id, edge_id),
                    )
                else:
                    conn.execute(
                        "UPDATE edges SET applied_version = ?, last_nonce = ?, last_answer = ?, last_error = '', "
                        "last_ack_time_us = ?, last_seen_us = ? WHERE store_id = ? AND edge_id = ?",
                        (version, nonce, ACK, now_us, now_us, store_id, edge_id),
                    )

        await self._run(_update)

    async def list_edges(self, store_id: str, page: PageRequest) -> list[admin_pb2.EdgeStatus]:
        """Edges ordered by (store, edge), optionally of one store; ``page.limit + 1`` rows at most."""

        def _list() -> list[admin_pb2.EdgeStatus]:
            after_store, _, after_edge = page.after_id.partition(_KEY_SEP)
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM edges WHERE (? = '' OR store_id = ?) "
                "AND (store_id, edge_id) > (?, ?) ORDER BY store_id, edge_id LIMIT ?",
                (store_id, store_id, after_store, after_edge, page.limit + 1),
            ).fetchall()
            return [_row_to_status(r) for r in rows]

        return await self._run(_list)
