"""The console's availability forecast on a real cloud: the API on both engines agrees with
AdminService's ForecastAvailability, refuses bad input, and the panel shows it in headless Chromium
(screenshot artifacts/console-forecast.png)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from cartads.v1 import admin_pb2
from tests.cloud_core.console.world import CAMPAIGN_ID, LINE_ITEM_ID, ConsoleWorld

if TYPE_CHECKING:
    from playwright.async_api import Browser


async def _get(world: ConsoleWorld, path: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {world.viewer_token}"}
    async with aiohttp.ClientSession() as http, http.get(world.url + path, headers=headers) as response:
        return response.status, await response.json()


async def test_forecast_matches_forecast_availability(world: ConsoleWorld) -> None:
    """Each line item's totals equal ForecastAvailability for its targeting over the same dates."""
    status, body = await _get(world, f"api/campaigns/{CAMPAIGN_ID}/forecast?days=3")
    assert (status, body["available"], body["days"]) == (200, True, 3)
    (shown,) = [i for i in body["line_items"] if i["line_item_id"] == LINE_ITEM_ID]
    item = (await world.admin.GetLineItem(admin_pb2.GetLineItemRequest(line_item_id=LINE_ITEM_ID))).line_item
    start = datetime.now(UTC).date()
    expected = await world.admin.ForecastAvailability(
        admin_pb2.ForecastAvailabilityRequest(
            targeting=item.targeting,
            start_date=start.isoformat(),
            end_date=(start + timedelta(days=2)).isoformat(),
        )
    )
    assert shown["total_expected_impressions"] == pytest.approx(expected.total_expected_impressions)
    assert shown["total_eligible_requests"] == pytest.approx(expected.total_eligible_requests)
    assert len(shown["days"]) == 3
    assert sum(d["expected_impressions"] for d in shown["days"]) == pytest.approx(expected.total_expected_impressions)


@pytest.mark.parametrize("days", ["0", "93", "a week", "-1"])
async def test_days_out_of_range_is_400_naming_it(world: ConsoleWorld, days: str) -> None:
    """?days= outside 1..92, or not a number, is a 400 naming days."""
    status, body = await _get(world, f"api/campaigns/{CAMPAIGN_ID}/forecast?days={days}")
    assert status == 400
    assert body["error"].startswith("days:")


async def test_unknown_campaign_is_404(world: ConsoleWorld) -> None:
    """A campaign that does not exist is a 404 naming it."""
    status, body = await _get(world, "api/campaigns/cmp-nope/forecast")
    assert status == 404
    assert "cmp-nope" in body["error"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_forecast_panel_shows_the_selected_campaigns_line_items(
    browser: Browser, world: ConsoleWorld, artifacts: Path
) -> None:
    """The panel lists the selected campaign's line items with eligible requests, impressions and 7 days."""
    page = await browser.new_page(viewport={"width": 1360, "height": 1500})
    page.set_default_timeout(10_000)
    await page.goto(world.url)
    await page.fill("#token", world.viewer_token)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector(f"body[data-forecast='{CAMPAIGN_ID}']")
    row = page.locator(f"#forecast tbody tr[data-line-item='{LINE_ITEM_ID}']")
    assert LINE_ITEM_ID in await row.inner_text()
    assert await row.locator("small.day").count() == 7
    impressions = (await row.locator("td.impressions").inner_text()).removeprefix("≤ ").replace(",", "")
    assert impressions.isdigit()
    await page.locator("section[aria-labelledby='forecast-title']").screenshot(
        path=str(artifacts / "console-forecast.png")
    )
