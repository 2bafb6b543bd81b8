"""The console's availability forecast panel: for each line item of a campaign, the requests it is
eligible for and the viewable impressions they carry over the coming days, from AdminService's
forecast of the line item's own targeting (cloud_core/admin/exports/forecast.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cartads.rpc.errors import InvalidArgumentError
from cartads.v1 import admin_pb2
from cloud_core.admin.pagination import PageRequest

# Line items of one campaign forecast at most (a campaign has a handful; the panel is not a report).
MAX_LINE_ITEMS = 50


class LineItems(Protocol):
    """A campaign and its line items (storage/campaigns.py)."""

    async def get_campaign(self, campaign_id: str) -> admin_pb2.Campaign | None: ...
    async def list_line_items(self, page: PageRequest, campaign_id: str) -> list[admin_pb2.LineItem]: ...


class Forecaster(Protocol):
    """ForecastAvailability (cloud_core/admin/exports/forecast.py)."""

    async def forecast(
        self, request: admin_pb2.ForecastAvailabilityRequest
    ) -> admin_pb2.ForecastAvailabilityResponse: ...


def line_item_forecast_json(item: admin_pb2.LineItem, found: admin_pb2.ForecastAvailabilityResponse) -> dict[str, Any]:
    """One line item's forecast, its days summed over stores (each store's own local date)."""
    by_day: dict[str, list[float]] = {}
    for day in found.days:
        sums = by_day.setdefault(day.date, [0.0, 0.0])
        sums[0] += day.eligible_requests
        sums[1] += day.expected_impressions
    return {
        "line_item_id": item.line_item_id,
        "display_name": item.display_name,
        "state": admin_pb2.ServingState.Name(item.state),
        "upper_bound": found.upper_bound,
        "stores": len(found.stores),
        "stores_without_history": sum(1 for s in found.stores if s.days_observed <= 0),
        "total_eligible_requests": found.total_eligible_requests,
        "total_expected_impressions": found.total_expected_impressions,
        "days": [
            {"date": date, "eligible_requests": sums[0], "expected_impressions": sums[1]}
            for date, sums in sorted(by_day.items())
        ],
    }


def forecast_reader(
    campaigns: LineItems, forecaster: Forecaster, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Callable[[str, int], Awaitable[dict[str, Any] | None]]:
    """The console's read of a campaign's forecast over the next ``days`` days (from today, UTC): None
    when the campaign does not exist."""

    async def read(campaign_id: str, days: int) -> dict[str, Any] | None:
        if await campaigns.get_campaign(campaign_id) is None:
            return None
        items = await campaigns.list_line_items(PageRequest("", MAX_LINE_ITEMS), campaign_id)
        start = now().date()
        end = start + timedelta(days=days - 1)
        out = []
        for item in items[:MAX_LINE_ITEMS]:
            request = admin_pb2.ForecastAvailabilityRequest(
                targeting=item.targeting, start_date=start.isoformat(), end_date=end.isoformat()
            )
            try:
                out.append(line_item_forecast_json(item, await forecaster.forecast(request)))
            except InvalidArgumentError as exc:
                # A targeting the catalogs no longer hold (a zone since removed): said, not a failed panel.
                out.append({"line_item_id": item.line_item_id, "display_name": item.display_name, "error": str(exc)})
        return {"start_date": start.isoformat(), "end_date": end.isoformat(), "line_items": out}

    return read
