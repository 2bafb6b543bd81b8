"""Report exports: a long report runs as a job in the cloud process, in the background and a few at a
time, its state, progress and CSV chunks in the database so any replica answers the poll and the
download. An advertiser token sees only the exports it made, over its own data."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import structlog

from cartads.rpc.errors import FailedPreconditionError, NotFoundError
from cartads.time_units import now_us, us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.access.auth import scoped_advertiser
from cloud_core.admin import validation as v
from cloud_core.admin.reports import ExperimentLayerReader, report_rows
from cloud_core.admin.request_checks import existing, raise_if
from cloud_core.reports.export import (
    CHUNK_BYTES,
    Chunker,
    csv_lines,
    csv_text,
    dimensions_of,
    header,
    labelled,
    merge,
    store_request,
)
from cloud_core.reports.metrics import Delivery
from cloud_core.reports.query import check_report_request, plan_report
from cloud_core.storage.protocol import (
    PENDING_EXPORT,
    CatalogStore,
    ExportOutcome,
    ExportProgress,
    ReportExportRow,
    ReportExportStore,
    ReportStore,
)

log = structlog.get_logger("cloud.exports")

SUCCEEDED = int(admin_pb2.REPORT_EXPORT_STATE_SUCCEEDED)
FAILED = int(admin_pb2.REPORT_EXPORT_STATE_FAILED)
# Chunks read per database round trip of a download.
DOWNLOAD_PAGE = 16


def export_pb(row: ReportExportRow) -> admin_pb2.ReportExport:
    """The ReportExport message of a stored job."""
    return admin_pb2.ReportExport(
        export_id=row.export_id,
        state=row.state,  # type: ignore[arg-type]
        stores_done=row.stores_done,
        stores_total=row.stores_total,
        row_count=row.row_count,
        byte_count=row.byte_count,
        error=row.error,
        create_time=us_to_ts(row.create_time_us),
        update_time=us_to_ts(row.update_time_us),
        advertiser_id=row.advertiser_id,
        report=admin_pb2.RunReportRequest.FromString(row.request),
    )


class ExportRunner:
    """Runs exports in this process, at most ``max_running`` at once; a job whose runner has been
    silent for ``stale_after_us`` (its replica died) is claimed again by whichever runner looks."""

    def __init__(
        self,
        exports: ReportExportStore,
        reports: ReportStore,
        catalog: CatalogStore,
        *,
        runner_id: str = "",
        max_running: int = 2,
        stale_after_us: int = 300_000_000,
        chunk_bytes: int = CHUNK_BYTES,
        clock_us: Callable[[], int] = now_us,
    ) -> None:
        self._exports = exports
        self._reports = reports
        self._chunk_bytes = chunk_bytes
        self._catalog = catalog
        self._runner = f"{runner_id or 'cloud'}-{uuid.uuid4().hex[:8]}"
        self._slots = asyncio.Semaphore(max_running)
        self._stale_us = stale_after_us
        self._clock = clock_us
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def submit(self, export_id: str) -> None:
        """Run ``export_id`` in the background once a slot is free."""
        task = asyncio.get_running_loop().create_task(self._run(export_id), name=f"export-{export_id}")
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        # Marking the job FAILED can fail too (the database away): say so rather than lose it silently;
        # the job stays RUNNING until a sweep finds it stale and runs it again.
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("report export ended without its state saved", task=task.get_name(), error=repr(error))

    async def resume(self) -> None:
        """Take up the exports no runner holds: accepted by a replica that stopped, or stale."""
        for export_id in await self._exports.claimable_exports(self._clock(), self._stale_us):
            self.submit(export_id)

    def start_sweeping(self, interval_s: float = 60.0) -> None:
        """Look for orphaned exports now and every ``interval_s``, so a replica's death never strands one."""
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep(interval_s), name="export-sweeper")

    async def _sweep(self, interval_s: float) -> None:
        while True:
            try:
                await self.resume()
            except Exception:
                # The database being away for a moment must not end the sweeping for good.
                log.exception("report export sweep failed")
            await asyncio.sleep(interval_s)

    async def idle(self) -> None:
        """Wait until every export submitted so far has ended."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Stop sweeping and the running exports (another runner claims them once they are stale)."""
        tasks = [*self._tasks, *([self._sweeper] if self._sweeper else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, export_id: str) -> None:
        async with self._slots:
            if not await self._exports.claim_export(export_id, self._runner, self._clock(), self._stale_us):
                return
            try:
                await self._write(export_id)
            except Exception as exc:
                # Whatever went wrong (a bad stored zone, the database), the job ends FAILED, not RUNNING.
                log.exception("report export failed", export_id=export_id)
                outcome = ExportOutcome(FAILED, self._clock(), error=f"{type(exc).__name__}: {exc}")
                await self._exports.finish_export(export_id, self._runner, outcome)

    async def _write(self, export_id: str) -> None:
        row = await self._exports.get_export(export_id)
        if row is None:
            return
        request = admin_pb2.RunReportRequest.FromString(row.request)
        store_ids = sorted(request.store_ids) if request.store_ids else sorted(await self._catalog.store_ids())
        dims = dimensions_of(request)
        chunker = Chunker(self._chunk_bytes)
        chunks = chunker.feed(csv_text([header(dims)]))
        merged: dict[tuple[str, ...], Delivery] = {}
        written = 0
        for done, store_id in enumerate(store_ids, start=1):
            store = await self._catalog.get_store(store_id)
            if store is not None:  # a store deleted since has no rows to add
                one = store_request(request, store_id, store.time_zone)
                raise_if(check_report_request(one))
                plan = plan_report(one)
                rows = await report_rows(self._reports, plan)
                cells = [(labelled(dims, k, store_id, store.time_zone, plan.tz), d) for k, d in rows.items()]
                if "store" in dims:
                    # Rows of one store never merge with another's: write them out now.
                    part: dict[tuple[str, ...], Delivery] = {}
                    merge(part, cells)
                    chunks += chunker.feed(csv_lines(part))
                    written += len(part)
                else:
                    merge(merged, cells)
            if done == len(store_ids):
                chunks += chunker.feed(csv_lines(merged))
                written += len(merged)
                chunks += chunker.flush()
            progress = ExportProgress(done, len(store_ids), tuple(chunks), self._clock())
            if not await self._exports.save_progress(export_id, self._runner, progress):
                return  # another runner took it over (this one looked dead)
            chunks = []
        if not store_ids:
            progress = ExportProgress(0, 0, tuple(chunks + chunker.flush()), self._clock())
            await self._exports.save_progress(export_id, self._runner, progress)
        outcome = ExportOutcome(SUCCEEDED, self._clock(), row_count=written, byte_count=chunker.byte_count)
        await self._exports.finish_export(export_id, self._runner, outcome)


def _prefixed(problems: list[v.Violation], prefix: str) -> list[v.Violation]:
    return [(f"{prefix}.{field}", why) for field, why in problems]


class ExportAdmin:
    """CreateReportExport, GetReportExport, DownloadReportExport."""

    def __init__(
        self,
        exports: ReportExportStore,
        runner: ExportRunner,
        layers: ExperimentLayerReader,
        catalog: CatalogStore,
        clock_us: Callable[[], int] = now_us,
    ) -> None:
        self._exports = exports
        self._runner = runner
        self._layers = layers
        self._catalog = catalog
        self._clock = clock_us

    async def create(self, request: admin_pb2.CreateReportExportRequest) -> admin_pb2.CreateReportExportResponse:
        if not request.HasField("report"):
            raise_if([("report", "is required")])
        report = admin_pb2.RunReportRequest()
        report.CopyFrom(request.report)
        own = scoped_advertiser()
        if own:
            # Whatever the request says, an advertiser token exports its own campaigns only.
            report.advertiser_id = own
        # Each store's own zone replaces it; a zone named here would read as honoured.
        report.time_zone = ""
        raise_if(_prefixed(check_report_request(report), "report"))
        for i, store_id in enumerate(report.store_ids):
            await existing("store", store_id, f"report.store_ids[{i}]", self._catalog.get_store)
        if report.layer_id:
            await existing("experiment layer", report.layer_id, "report.layer_id", self._layers.get_experiment_layer)
        now = self._clock()
        row = ReportExportRow(
            export_id=f"exp-{uuid.uuid4().hex[:20]}",
            advertiser_id=own,
            request=report.SerializeToString(),
            state=PENDING_EXPORT,
            create_time_us=now,
            update_time_us=now,
        )
        await self._exports.create_export(row)
        self._runner.submit(row.export_id)
        return admin_pb2.CreateReportExportResponse(export=export_pb(row))

    async def _visible(self, export_id: str) -> ReportExportRow:
        raise_if(v.check_required_id(export_id, "export_id") or v.check_id(export_id, "export_id"))
        row = await self._exports.get_export(export_id)
        own = scoped_advertiser()
        # Another advertiser's export reads as missing: its existence is not the caller's to learn.
        if row is None or (own and row.advertiser_id != own):
            raise NotFoundError(f"report export {export_id!r} does not exist", "export_id")
        return row

    async def get(self, request: admin_pb2.GetReportExportRequest) -> admin_pb2.GetReportExportResponse:
        return admin_pb2.GetReportExportResponse(export=export_pb(await self._visible(request.export_id)))

    async def download(
        self, request: admin_pb2.DownloadReportExportRequest
    ) -> AsyncIterator[admin_pb2.DownloadReportExportResponse]:
        row = await self._visible(request.export_id)
        if row.state != SUCCEEDED:
            state = admin_pb2.ReportExportState.Name(row.state)
            raise FailedPreconditionError(f"report export {row.export_id!r} is {state}, not SUCCEEDED")
        after = 0
        while chunks := await self._exports.export_chunks(row.export_id, after, DOWNLOAD_PAGE):
            for seq, data in chunks:
                yield admin_pb2.DownloadReportExportResponse(data=data)
                after = seq
