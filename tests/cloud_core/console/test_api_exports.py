"""The console's report exports on a real cloud (both engines): an export made through AdminService is
listed by /api/exports with its state and report."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from cartads.v1 import admin_pb2
from tests.cloud_core.console.world import ConsoleWorld


async def _get(world: ConsoleWorld, path: str, token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(world.url + path, headers=headers) as response:
        return response.status, await response.json()


async def test_an_export_made_through_admin_service_is_listed(world: ConsoleWorld) -> None:
    """CreateReportExport's job is the newest in /api/exports, with its dimensions."""
    report = admin_pb2.RunReportRequest(dimensions=[admin_pb2.REPORT_DIMENSION_CAMPAIGN])
    report.start_time.FromSeconds(int(time.time()) - 86_400)
    report.end_time.FromSeconds(int(time.time()))
    made = await world.admin.CreateReportExport(admin_pb2.CreateReportExportRequest(report=report))
    status, body = await _get(world, "api/exports?limit=5", world.viewer_token)
    assert (status, body["available"]) == (200, True)
    newest = body["exports"][0]
    assert newest["export_id"] == made.export.export_id
    assert newest["report"]["dimensions"] == ["REPORT_DIMENSION_CAMPAIGN"]
    assert newest["state"].startswith("REPORT_EXPORT_STATE_")
