"""Report exports over real clouds on both engines: a job over thousands of rows run by one replica and
polled and downloaded from another, days and hours in each store's zone, the abuser, bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from cartads.rpc.bearer import aio_channel
from cartads.time_units import HOUR_US, dt_to_ts, dt_to_us, now_us
from cartads.v1 import admin_pb2, admin_pb2_grpc, common_pb2
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer, start_cloud
from cloud_core.config import CloudConfig
from cloud_core.events.outcomes import EventOutcome
from cloud_core.storage.protocol import PENDING_EXPORT, ReportExportRow
from tests.cloud_core.helpers import run_admin_cli, violations_of
from tests.eventually import eventually

T0 = datetime(2026, 11, 30, tzinfo=UTC)
SUCCEEDED = admin_pb2.REPORT_EXPORT_STATE_SUCCEEDED
ZONES = {"s-utc": "UTC", "s-chi": "America/Chicago", "s-ber": "Europe/Berlin"}


async def _cloud(db_url: str, replica_id: str) -> CloudServer:
    config = CloudConfig(db=db_url, listen_address="127.0.0.1:0", replica_id=replica_id, export_chunk_bytes=16_384)
    return await start_cloud(config)


@pytest.fixture
async def replicas(db_url: str) -> AsyncIterator[tuple[CloudServer, CloudServer]]:
    """Two cloud replicas sharing one database (each engine)."""
    a = await _cloud(db_url, "a")
    try:
        b = await _cloud(db_url, "b")
        try:
            yield a, b
        finally:
            await b.stop(grace_s=0.2)
    finally:
        await a.stop(grace_s=0.2)


def _stub(cloud: CloudServer, token: str) -> tuple[grpc.aio.Channel, admin_pb2_grpc.AdminServiceAsyncStub]:
    channel = aio_channel(f"127.0.0.1:{cloud.port}", token)
    return channel, admin_pb2_grpc.AdminServiceStub(channel)


def _impression(i: int, at_us: int, campaign: str, advertiser: str = "acme") -> EventOutcome:
    return EventOutcome(
        seq=i,
        event_id=f"e{i}",
        event_type=common_pb2.EVENT_TYPE_IMPRESSION,
        cart_id="cart",
        session_id="trip",
        event_blob=b"",
        receive_time_us=at_us,
        ad_id=f"ad{i}",
        advertiser_id=advertiser,
        campaign_id=campaign,
        line_item_id=f"li-{campaign}",
        creative_id="cr",
        pricing_model=common_pb2.PRICING_MODEL_CPM,
        billable=True,
        charge_micros=1_000,
    )


async def _stores(admin: admin_pb2_grpc.AdminServiceAsyncStub, zones: dict[str, str]) -> None:
    for store_id, zone in zones.items():
        await admin.CreateStore(
            admin_pb2.CreateStoreRequest(
                store_id=store_id, store=admin_pb2.Store(display_name=store_id, time_zone=zone)
            )
        )


def _report(*dims: admin_pb2.ReportDimension, hours: int, **fields: object) -> admin_pb2.RunReportRequest:
    start = dt_to_us(T0)
    return admin_pb2.RunReportRequest(
        dimensions=dims,
        start_time=dt_to_ts(T0),
        end_time=dt_to_ts(datetime.fromtimestamp((start + hours * HOUR_US) / 1e6, UTC)),
        **fields,  # type: ignore[arg-type]
    )


async def _finished(admin: admin_pb2_grpc.AdminServiceAsyncStub, export_id: str) -> admin_pb2.ReportExport:
    async def done() -> admin_pb2.ReportExport | None:
        export = (await admin.GetReportExport(admin_pb2.GetReportExportRequest(export_id=export_id))).export
        assert not export.error, export.error
        return export if export.state == SUCCEEDED else None

    return await eventually(done, timeout_s=60, interval_s=0.05)


async def _download(admin: admin_pb2_grpc.AdminServiceAsyncStub, export_id: str) -> tuple[list[dict[str, str]], int]:
    chunks = [
        c.data async for c in admin.DownloadReportExport(admin_pb2.DownloadReportExportRequest(export_id=export_id))
    ]
    return list(csv.DictReader(io.StringIO(b"".join(chunks).decode()))), len(chunks)


async def test_an_export_of_thousands_of_rows_is_polled_and_downloaded_from_another_replica(
    replicas: tuple[CloudServer, CloudServer],
) -> None:
    """Replica a runs a 2,160-row export (3 stores x 10 campaigns x 72 hours); replica b reports its
    progress from the database and streams every row, in many chunks."""
    a, b = replicas
    ch_a, admin_a = _stub(a, await a.mint_token(Role.ADMIN))
    ch_b, admin_b = _stub(b, await b.mint_token(Role.ADMIN))
    try:
        await _stores(admin_a, ZONES)
        start = dt_to_us(T0)
        for n, store_id in enumerate(ZONES):
            events = [
                _impression(n * 10_000 + h * 10 + c, start + h * HOUR_US + 60_000_000, f"c{c}")
                for h in range(72)
                for c in range(10)
            ]
            await a.store.ledger.record_events(store_id, "edge", events)
        report = _report(
            admin_pb2.REPORT_DIMENSION_STORE,
            admin_pb2.REPORT_DIMENSION_CAMPAIGN,
            admin_pb2.REPORT_DIMENSION_HOUR,
            hours=72,
        )
        created = (await admin_a.CreateReportExport(admin_pb2.CreateReportExportRequest(report=report))).export
        export = await _finished(admin_b, created.export_id)
        rows, chunks = await _download(admin_b, created.export_id)
    finally:
        await ch_a.close(None)
        await ch_b.close(None)
    assert (export.stores_done, export.stores_total, export.row_count) == (3, 3, 2_160)
    assert len(rows) == 2_160
    assert sum(int(r["impressions"]) for r in rows) == 2_160
    assert chunks > 5
    assert {r["hour"][-6:] for r in rows if r["store_id"] == "s-chi"} == {"-06:00"}


async def test_days_and_hours_are_each_stores_own_across_midnight_utc(
    replicas: tuple[CloudServer, CloudServer],
) -> None:
    """03:30 UTC on Dec 8 is Dec 7, 21:00 in the Chicago store and Dec 8, 03:00 in the UTC store; by day
    alone the two stores' impressions fall on their own local days."""
    a, _ = replicas
    channel, admin = _stub(a, await a.mint_token(Role.ADMIN))
    try:
        await _stores(admin, {"s-utc": "UTC", "s-chi": "America/Chicago"})
        at = dt_to_us(datetime(2026, 12, 8, 3, 30, tzinfo=UTC))
        await a.store.ledger.record_events("s-utc", "edge", [_impression(1, at, "c1")])
        await a.store.ledger.record_events("s-chi", "edge", [_impression(2, at, "c1")])
        by = (admin_pb2.REPORT_DIMENSION_STORE, admin_pb2.REPORT_DIMENSION_DAY, admin_pb2.REPORT_DIMENSION_HOUR)
        ids = []
        for dims in (by, (admin_pb2.REPORT_DIMENSION_DAY,)):
            request = admin_pb2.CreateReportExportRequest(report=_report(*dims, hours=14 * 24))
            ids.append((await admin.CreateReportExport(request)).export.export_id)
        for export_id in ids:
            await _finished(admin, export_id)
        by_hour, _ = await _download(admin, ids[0])
        by_day, _ = await _download(admin, ids[1])
    finally:
        await channel.close(None)
    assert [(r["store_id"], r["time_zone"], r["day"], r["hour"], r["impressions"]) for r in by_hour] == [
        ("s-chi", "America/Chicago", "2026-12-07", "2026-12-07T21:00-06:00", "1"),
        ("s-utc", "UTC", "2026-12-08", "2026-12-08T03:00+00:00", "1"),
    ]
    assert [(r["day"], r["impressions"]) for r in by_day] == [("2026-12-07", "1"), ("2026-12-08", "1")]


async def test_an_advertiser_sees_only_its_own_exports_and_data(replicas: tuple[CloudServer, CloudServer]) -> None:
    """acme's export holds acme's campaign only, even when it asks for rival's; rival cannot read or
    download it (NOT_FOUND, as if it did not exist), an admin can."""
    a, b = replicas
    channel, admin = _stub(a, await a.mint_token(Role.ADMIN))
    acme_ch, acme = _stub(a, await a.mint_token(Role.ADVERTISER, advertiser_id="acme"))
    rival_ch, rival = _stub(b, await b.mint_token(Role.ADVERTISER, advertiser_id="rival"))
    try:
        await _stores(admin, {"s-utc": "UTC"})
        at = dt_to_us(T0) + HOUR_US
        events = [_impression(1, at, "c-acme", "acme"), _impression(2, at, "c-rival", "rival")]
        await a.store.ledger.record_events("s-utc", "edge", events)
        report = _report(admin_pb2.REPORT_DIMENSION_CAMPAIGN, hours=24, advertiser_id="rival")
        created = (await acme.CreateReportExport(admin_pb2.CreateReportExportRequest(report=report))).export
        await _finished(acme, created.export_id)
        rows, _ = await _download(acme, created.export_id)
        codes = []
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await rival.GetReportExport(admin_pb2.GetReportExportRequest(export_id=created.export_id))
        codes.append(caught.value.code())
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _download(rival, created.export_id)
        codes.append(caught.value.code())
        seen_by_admin = await admin.GetReportExport(admin_pb2.GetReportExportRequest(export_id=created.export_id))
    finally:
        for ch in (channel, acme_ch, rival_ch):
            await ch.close(None)
    assert (created.advertiser_id, created.report.advertiser_id) == ("acme", "acme")
    assert [r["campaign_id"] for r in rows] == ["c-acme"]
    assert codes == [grpc.StatusCode.NOT_FOUND, grpc.StatusCode.NOT_FOUND]
    assert seen_by_admin.export.state == SUCCEEDED


async def test_bad_export_requests_name_their_field(replicas: tuple[CloudServer, CloudServer]) -> None:
    """No report, an unknown dimension, an unknown store, a malformed or unknown export id: each answered
    with its code and the field, never a traceback."""
    a, _ = replicas
    channel, admin = _stub(a, await a.mint_token(Role.ADMIN))
    found: dict[str, tuple[grpc.StatusCode, dict[str, str]]] = {}
    calls: dict[str, Awaitable[object]] = {
        "missing": admin.CreateReportExport(admin_pb2.CreateReportExportRequest()),
        "dimension": admin.CreateReportExport(
            admin_pb2.CreateReportExportRequest(report=_report(99, hours=24))  # type: ignore[arg-type]
        ),
        "store": admin.CreateReportExport(
            admin_pb2.CreateReportExportRequest(report=_report(hours=24, store_ids=["nowhere"]))
        ),
        "bad id": admin.GetReportExport(admin_pb2.GetReportExportRequest(export_id="x" * 500)),
        "unknown id": admin.GetReportExport(admin_pb2.GetReportExportRequest(export_id="exp-none")),
    }
    try:
        for name, call in calls.items():
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call
            found[name] = (caught.value.code(), violations_of(caught.value))
    finally:
        await channel.close(None)
    invalid, not_found = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
    assert found["missing"][0] == invalid
    assert "report" in found["missing"][1]
    assert found["dimension"][0] == invalid
    assert "report.dimensions[0]" in found["dimension"][1]
    assert found["store"][0] == not_found
    assert found["bad id"][0] == invalid
    assert "export_id" in found["bad id"][1]
    assert found["unknown id"][0] == not_found


async def test_an_unfinished_export_cannot_be_downloaded(replicas: tuple[CloudServer, CloudServer]) -> None:
    """Downloading an export not yet finished answers FAILED_PRECONDITION naming its state (PENDING, or
    RUNNING once a replica's sweep has picked it up)."""
    a, _ = replicas
    now = now_us()
    row = ReportExportRow("exp-waiting", "", admin_pb2.RunReportRequest().SerializeToString(), PENDING_EXPORT, now, now)
    await a.store.exports.create_export(row)
    channel, admin = _stub(a, await a.mint_token(Role.ADMIN))
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _download(admin, "exp-waiting")
    finally:
        await channel.close(None)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = caught.value.details() or ""
    assert "not SUCCEEDED" in details
    assert "PENDING" in details or "RUNNING" in details


@pytest.mark.usefixtures("quiet_server_logs")
async def test_cartads_admin_exports_polls_and_downloads(
    cloud_server: CloudServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`report export` prints a job id, `report job --wait` its finished state, `report download --out`
    writes the CSV whole."""
    token = await cloud_server.mint_token(Role.ADMIN)
    channel, admin = _stub(cloud_server, token)
    try:
        await _stores(admin, {"s-chi": "America/Chicago"})
    finally:
        await channel.close(None)
    at = dt_to_us(datetime(2026, 12, 8, 3, 30, tzinfo=UTC))
    await cloud_server.store.ledger.record_events("s-chi", "edge", [_impression(1, at, "c1")])
    period = ("--from", "2026-12-07T00:00:00Z", "--to", "2026-12-09T00:00:00Z")
    capsys.readouterr()
    assert await run_admin_cli(cloud_server, token, "report", "export", "--by", "store,day", *period) == 0
    export_id = capsys.readouterr().out.strip()
    assert await run_admin_cli(cloud_server, token, "report", "job", export_id, "--wait", "--poll-s", "0.05") == 0
    assert "SUCCEEDED" in capsys.readouterr().out
    out = tmp_path / "report.csv"
    assert await run_admin_cli(cloud_server, token, "report", "download", export_id, "--out", str(out)) == 0
    (row,) = csv.DictReader(io.StringIO(out.read_text()))
    assert (row["store_id"], row["time_zone"], row["day"], row["impressions"]) == (
        "s-chi",
        "America/Chicago",
        "2026-12-07",
        "1",
    )
