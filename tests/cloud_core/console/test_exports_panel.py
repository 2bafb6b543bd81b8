"""The console's report exports panel: the newest jobs from storage (both engines), the API's bounds,
and the panel in headless Chromium with a screenshot (artifacts/console-exports.png)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from cartads.v1 import admin_pb2
from cloud_core.console.exports import export_json
from cloud_core.console.http import Access, ConsoleServer, start_console
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.storage.protocol import PENDING_EXPORT, ReportExportRow
from tests.cloud_core.console.test_http import NOW_US, FakeConsoleReads

if TYPE_CHECKING:
    from playwright.async_api import Browser

HOUR_US = 3_600_000_000


def _report() -> bytes:
    report = admin_pb2.RunReportRequest(
        dimensions=[admin_pb2.REPORT_DIMENSION_CAMPAIGN, admin_pb2.REPORT_DIMENSION_DAY]
    )
    report.start_time.FromJsonString("2026-11-01T00:00:00Z")
    report.end_time.FromJsonString("2026-12-01T00:00:00Z")
    return report.SerializeToString()


def _row(export_id: str, created_us: int, advertiser_id: str = "") -> ReportExportRow:
    return ReportExportRow(export_id, advertiser_id, _report(), PENDING_EXPORT, created_us, created_us)


async def test_recent_exports_are_the_newest_first(db_url: str) -> None:
    """recent_exports(2) answers the two newest jobs, newest first, with their state and report."""
    store = await SqlCloudStore.open(db_url)
    try:
        for i, export_id in enumerate(("exp-old", "exp-mid", "exp-new")):
            await store.exports.create_export(_row(export_id, NOW_US + i * HOUR_US))
        rows = await store.exports.recent_exports(2)
    finally:
        await store.close()
    assert [r.export_id for r in rows] == ["exp-new", "exp-mid"]
    job = export_json(rows[0])
    assert job["state"] == "REPORT_EXPORT_STATE_PENDING"
    assert job["report"]["dimensions"] == ["REPORT_DIMENSION_CAMPAIGN", "REPORT_DIMENSION_DAY"]


def _jobs() -> list[dict[str, Any]]:
    running = replace(_row("exp-busy", NOW_US), state=2, stores_done=1, stores_total=4)
    done = replace(
        _row("exp-ready", NOW_US - HOUR_US),
        state=3,
        stores_done=4,
        stores_total=4,
        row_count=12_345,
        byte_count=2_400_000,
    )
    failed = replace(_row("exp-broken", NOW_US - 2 * HOUR_US, "adv-1"), state=4, error="the database went away")
    return [export_json(r) for r in (running, done, failed)]


async def _recent(limit: int) -> list[dict[str, Any]]:
    return _jobs()[:limit]


async def _tokens(token: str) -> Access:
    return Access.GRANTED if token == "viewer-token" else Access.UNKNOWN_TOKEN


@pytest.fixture
async def console() -> AsyncIterator[ConsoleServer]:
    """The console with three export jobs (running, ready, failed), on loopback port 0."""
    reads = FakeConsoleReads(edges=[], campaigns={}, hours={})
    server = await start_console("127.0.0.1:0", reads, token_check=_tokens, now_us=lambda: NOW_US, exports=_recent)
    try:
        yield server
    finally:
        await server.stop()


@pytest.mark.parametrize("limit", ["0", "201", "ten", "-1"])
async def test_export_limit_out_of_range_is_400_naming_it(console: ConsoleServer, limit: str) -> None:
    """?limit= outside 1..200, or not a number, is a 400 naming limit."""
    url = f"{console.url.rstrip('/')}/api/exports?limit={limit}"
    headers = {"Authorization": "Bearer viewer-token"}
    async with aiohttp.ClientSession(headers=headers) as http, http.get(url) as response:
        assert response.status == 400
        assert "limit" in (await response.json())["error"]


async def test_exports_need_a_token(console: ConsoleServer) -> None:
    """Without a bearer token the exports API is 401."""
    async with aiohttp.ClientSession() as http, http.get(f"{console.url.rstrip('/')}/api/exports") as response:
        assert response.status == 401


async def test_exports_panel_shows_state_progress_and_size(
    browser: Browser, console: ConsoleServer, artifacts: Path
) -> None:
    """Each job reads as its state in words, stores read, rows and size once ready, its report and error."""
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(10_000)
    await page.goto(console.url)
    await page.fill("#token", "viewer-token")
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("#exports tbody tr[data-export='exp-ready']")
    ready = await page.inner_text("#exports tbody tr[data-export='exp-ready']")
    for shown in ("ready", "4 / 4", "12,345", "2.3 MiB"):
        assert shown in ready
    assert "by campaign, day, 2026-11-01 → 2026-12-01" in ready
    busy = await page.inner_text("#exports tbody tr[data-export='exp-busy']")
    for shown in ("running", "1 / 4"):
        assert shown in busy
    broken = await page.inner_text("#exports tbody tr[data-export='exp-broken']")
    for shown in ("failed", "the database went away", "advertiser adv-1"):
        assert shown in broken
    await page.locator("#exports").screenshot(path=str(artifacts / "console-exports.png"))
