"""Report export jobs in SQL on both engines: one runner holds a job, a silent runner's job is taken
over and its chunks dropped, and the one taken from can no longer write."""

from __future__ import annotations

from typing import Any

import structlog.testing

from cartads.v1 import admin_pb2
from cloud_core.admin.exports.jobs import ExportRunner
from cloud_core.reports.metrics import Delivery, TripSums
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.storage.protocol import (
    PENDING_EXPORT,
    RUNNING_EXPORT,
    ExportOutcome,
    ExportProgress,
    ReportExportRow,
)

STALE_US = 60_000_000
T = 1_800_000_000_000_000


async def _job(store: SqlCloudStore) -> None:
    await store.exports.create_export(ReportExportRow("exp-1", "acme", b"", PENDING_EXPORT, T, T))


async def test_one_runner_claims_a_pending_job(store: SqlCloudStore) -> None:
    """The first claim wins; a second runner's claim of the fresh job fails."""
    await _job(store)
    assert await store.exports.claim_export("exp-1", "r1", T, STALE_US)
    assert not await store.exports.claim_export("exp-1", "r2", T + 1, STALE_US)
    row = await store.exports.get_export("exp-1")
    assert row is not None
    assert row.state == RUNNING_EXPORT


async def test_a_silent_runners_job_is_taken_over_from_scratch(store: SqlCloudStore) -> None:
    """After STALE_US without progress the job is claimable again, its chunks gone, and the old runner's
    next progress is refused."""
    await _job(store)
    await store.exports.claim_export("exp-1", "r1", T, STALE_US)
    assert await store.exports.save_progress("exp-1", "r1", ExportProgress(1, 2, ((1, b"a,b\r\n"),), T + 1))
    assert await store.exports.claimable_exports(T + 2, STALE_US) == []
    later = T + 1 + STALE_US + 1
    assert await store.exports.claimable_exports(later, STALE_US) == ["exp-1"]
    assert await store.exports.claim_export("exp-1", "r2", later, STALE_US)
    assert await store.exports.export_chunks("exp-1", 0, 10) == []
    assert not await store.exports.save_progress("exp-1", "r1", ExportProgress(2, 2, ((2, b"x"),), later))


async def test_chunks_read_back_in_order_with_the_outcome(store: SqlCloudStore) -> None:
    """Chunks saved over two steps page back in sequence order; the outcome's counts are stored."""
    await _job(store)
    await store.exports.claim_export("exp-1", "r1", T, STALE_US)
    await store.exports.save_progress("exp-1", "r1", ExportProgress(1, 2, ((1, b"h\r\n"), (2, b"a\r\n")), T))
    await store.exports.save_progress("exp-1", "r1", ExportProgress(2, 2, ((3, b"b\r\n"),), T))
    await store.exports.finish_export(
        "exp-1", "r1", ExportOutcome(int(admin_pb2.REPORT_EXPORT_STATE_SUCCEEDED), T, row_count=2, byte_count=9)
    )
    assert await store.exports.export_chunks("exp-1", 1, 10) == [(2, b"a\r\n"), (3, b"b\r\n")]
    row = await store.exports.get_export("exp-1")
    assert row is not None
    assert (row.stores_done, row.row_count, row.byte_count) == (2, 2, 9)


class _BrokenReports:
    """A report store whose every read fails, as a database gone away would."""

    async def report_delivery(self, queries: object) -> list[tuple[tuple[Any, ...], Delivery]]:
        raise OSError("the database went away")

    async def report_invalid(self, query: object) -> list[tuple[tuple[Any, ...], Delivery]]:
        raise OSError("the database went away")

    async def report_requests(self, where: object, columns: object) -> list[tuple[tuple[Any, ...], int]]:
        raise OSError("the database went away")

    async def report_trip_sums(self, where: object) -> list[tuple[str, str, TripSums]]:
        raise OSError("the database went away")


async def test_an_export_that_fails_ends_failed_with_the_reason(store: SqlCloudStore) -> None:
    """A report read that raises leaves the job FAILED with the error, not RUNNING forever."""
    await store.catalog.create_store(admin_pb2.Store(store_id="s1", display_name="s1", time_zone="UTC"), b"k" * 32)
    request = admin_pb2.RunReportRequest(dimensions=[admin_pb2.REPORT_DIMENSION_DAY])
    request.start_time.seconds, request.end_time.seconds = 1_800_000_000, 1_800_003_600
    await store.exports.create_export(ReportExportRow("exp-1", "", request.SerializeToString(), PENDING_EXPORT, T, T))
    runner = ExportRunner(store.exports, _BrokenReports(), store.catalog, clock_us=lambda: T)
    with structlog.testing.capture_logs():
        runner.submit("exp-1")
        await runner.idle()
    row = await store.exports.get_export("exp-1")
    assert row is not None
    assert (row.state, row.error) == (admin_pb2.REPORT_EXPORT_STATE_FAILED, "OSError: the database went away")
