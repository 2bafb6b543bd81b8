"""Report exports in the database: any replica reads a job's state and chunks, and one runner at a
time holds it (a conditional update claims it)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cartads.rpc.errors import AlreadyExistsError
from cloud_core.storage import schema as t
from cloud_core.storage.protocol import (
    PENDING_EXPORT,
    RUNNING_EXPORT,
    ExportOutcome,
    ExportProgress,
    ReportExportRow,
)
from cloud_core.storage.sql.database import Database

_E = t.report_exports.c
_C = t.report_export_chunks.c


def _row(r: sa.Row[tuple[object, ...]]) -> ReportExportRow:
    m = r._mapping
    return ReportExportRow(
        export_id=str(m["export_id"]),
        advertiser_id=str(m["advertiser_id"]),
        request=bytes(m["request"]),
        state=int(m["state"]),
        stores_done=int(m["stores_done"]),
        stores_total=int(m["stores_total"]),
        row_count=int(m["row_count"]),
        byte_count=int(m["byte_count"]),
        error=str(m["error"]),
        create_time_us=int(m["create_time_us"]),
        update_time_us=int(m["update_time_us"]),
    )


class SqlReportExports:
    """Implements ``ReportExportStore`` over the shared ``Database``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_export(self, row: ReportExportRow) -> None:
        def _write(conn: Connection) -> None:
            if conn.execute(sa.select(_E.export_id).where(_E.export_id == row.export_id)).first():
                raise AlreadyExistsError(f"report export {row.export_id!r} already exists", "export_id")
            conn.execute(
                sa.insert(t.report_exports).values(
                    export_id=row.export_id,
                    advertiser_id=row.advertiser_id,
                    request=row.request,
                    state=row.state,
                    create_time_us=row.create_time_us,
                    update_time_us=row.update_time_us,
                )
            )

        await self._db.write(_write)

    async def get_export(self, export_id: str) -> ReportExportRow | None:
        query = sa.select(t.report_exports).where(_E.export_id == export_id)
        found = await self._db.read(lambda conn: conn.execute(query).first())
        return _row(found) if found is not None else None

    async def recent_exports(self, limit: int) -> list[ReportExportRow]:
        """The newest ``limit`` jobs, newest first (the operator console's panel)."""
        query = sa.select(t.report_exports).order_by(_E.create_time_us.desc(), _E.export_id.desc()).limit(limit)
        return [_row(r) for r in await self._db.read(lambda conn: list(conn.execute(query)))]

    async def claimable_exports(self, now_us: int, stale_us: int) -> list[str]:
        """Exports waiting for a runner, or whose runner has said nothing for ``stale_us`` (it died)."""
        query = (
            sa.select(_E.export_id)
            .where(
                (_E.state == PENDING_EXPORT) | ((_E.state == RUNNING_EXPORT) & (_E.update_time_us < now_us - stale_us))
            )
            .order_by(_E.create_time_us)
        )
        return await self._db.read(lambda conn: [str(v) for v in conn.execute(query).scalars()])

    async def claim_export(self, export_id: str, runner: str, now_us: int, stale_us: int) -> bool:
        """Whether this runner now holds the export; a stale run's chunks are dropped to start over."""

        def _write(conn: Connection) -> bool:
            claimed = conn.execute(
                sa.update(t.report_exports)
                .where(
                    _E.export_id == export_id,
                    (_E.state == PENDING_EXPORT)
                    | ((_E.state == RUNNING_EXPORT) & (_E.update_time_us < now_us - stale_us)),
                )
                .values(state=RUNNING_EXPORT, runner=runner, update_time_us=now_us, stores_done=0)
            ).rowcount
            if claimed:
                conn.execute(sa.delete(t.report_export_chunks).where(_C.export_id == export_id))
            return bool(claimed)

        return await self._db.write(_write)

    async def save_progress(self, export_id: str, runner: str, progress: ExportProgress) -> bool:
        """Append the progress's chunks and counts in one transaction; False when another runner took it over."""

        def _write(conn: Connection) -> bool:
            held = conn.execute(
                sa.update(t.report_exports)
                .where(_E.export_id == export_id, _E.runner == runner, _E.state == RUNNING_EXPORT)
                .values(
                    stores_done=progress.stores_done,
                    stores_total=progress.stores_total,
                    update_time_us=progress.now_us,
                )
            ).rowcount
            if held and progress.chunks:
                conn.execute(
                    sa.insert(t.report_export_chunks),
                    [{"export_id": export_id, "seq": seq, "data": data} for seq, data in progress.chunks],
                )
            return bool(held)

        return await self._db.write(_write)

    async def finish_export(self, export_id: str, runner: str, outcome: ExportOutcome) -> None:
        await self._db.write(
            lambda conn: conn.execute(
                sa.update(t.report_exports)
                .where(_E.export_id == export_id, _E.runner == runner)
                .values(
                    state=outcome.state,
                    row_count=outcome.row_count,
                    byte_count=outcome.byte_count,
                    error=outcome.error,
                    update_time_us=outcome.now_us,
                )
            )
        )

    async def export_chunks(self, export_id: str, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        query = (
            sa.select(_C.seq, _C.data)
            .where(_C.export_id == export_id, _C.seq > after_seq)
            .order_by(_C.seq)
            .limit(limit)
        )
        return await self._db.read(lambda conn: [(int(s), bytes(d)) for s, d in conn.execute(query)])
