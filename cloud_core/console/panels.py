"""The console API's report exports and availability forecast answers: their query bounds and the
JSON of the readers the cloud injects (cloud_core/console/exports.py, forecast.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cartads.bounds import clip

# The newest N report export jobs as JSON (ReportExport's fields).
ExportJobs = Callable[[int], Awaitable[list[dict[str, Any]]]]
# A campaign's availability forecast over the next N days as JSON, None when the campaign does not exist.
CampaignForecast = Callable[[str, int], Awaitable[dict[str, Any] | None]]
DEFAULT_FORECAST_DAYS = 7
MAX_FORECAST_DAYS = 92  # ForecastAvailability's longest range
# The exports panel lists this many of the newest jobs unless ?limit= says otherwise.
DEFAULT_EXPORT_ROWS = 20
MAX_EXPORT_ROWS = 200
_MAX_ID_CHARS = 256


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _bounded(raw: str, high: int) -> int | None:
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= high else None


async def forecast_response(request: web.Request, forecast: CampaignForecast | None) -> web.Response:
    """GET /api/campaigns/{campaign_id}/forecast?days=: the campaign's line items over the next days."""
    campaign_id = request.match_info["campaign_id"]
    if len(campaign_id) > _MAX_ID_CHARS:
        return _error(400, f"campaign_id: must be at most {_MAX_ID_CHARS} characters")
    days = _bounded(request.query.get("days", str(DEFAULT_FORECAST_DAYS)), MAX_FORECAST_DAYS)
    if days is None:
        return _error(400, f"days: must be a whole number from 1 to {MAX_FORECAST_DAYS}")
    if forecast is None:
        return web.json_response({"available": False, "line_items": []})
    found = await forecast(campaign_id, days)
    if found is None:
        return _error(404, f"campaign {clip(campaign_id)!r} not found")
    return web.json_response({"available": True, "days": days, **found})


async def exports_response(request: web.Request, exports: ExportJobs | None) -> web.Response:
    """GET /api/exports?limit=: the newest report export jobs."""
    limit = _bounded(request.query.get("limit", str(DEFAULT_EXPORT_ROWS)), MAX_EXPORT_ROWS)
    if limit is None:
        return _error(400, f"limit: must be a whole number from 1 to {MAX_EXPORT_ROWS}")
    if exports is None:
        return web.json_response({"available": False, "exports": []})
    return web.json_response({"available": True, "exports": await exports(limit)})
