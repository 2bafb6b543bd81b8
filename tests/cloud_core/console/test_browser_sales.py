"""The console's campaign table shows purchases credited at checkout, click, view and halo apart, in
headless Chromium over an in-memory store (exact figures). Skips without chromium locally, fails
under CI=true; the screenshot lands in artifacts/console-sales.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cartads.time_units import HOUR_US
from cloud_core.console.http import Access, ConsoleServer, start_console
from cloud_core.console.model import CampaignTotals
from tests.cloud_core.console.test_http import NOW_US, FakeConsoleReads

if TYPE_CHECKING:
    from playwright.async_api import Browser

START_US = NOW_US - 5 * 24 * HOUR_US


def _campaign(campaign_id: str, **sales: int) -> CampaignTotals:
    return CampaignTotals(
        campaign_id, "adv-1", f"Brand {campaign_id}", 500_000_000, START_US, START_US + 30 * 24 * HOUR_US, True,
        impressions=40, plays=50, clicks=4, spend_micros=1_000_000, **sales,
    )  # fmt: skip


async def _tokens(token: str) -> Access:
    return Access.GRANTED if token == "viewer-token" else Access.UNKNOWN_TOKEN


@pytest.fixture
async def console() -> AsyncIterator[ConsoleServer]:
    """Two campaigns with sales at checkout, on loopback port 0."""
    reads = FakeConsoleReads(
        edges=[],
        campaigns={
            "cmp-1": _campaign(
                "cmp-1",
                ct_sales_units=2,
                ct_sales_micros=5_980_000,
                vt_sales_units=1,
                vt_sales_micros=2_990_000,
                halo_sales_units=3,
                halo_sales_micros=7_500_000,
            ),
            "cmp-2": _campaign("cmp-2", vt_sales_units=1, vt_sales_micros=1_000_000),
        },
        hours={},
    )
    server = await start_console("127.0.0.1:0", reads, token_check=_tokens, now_us=lambda: NOW_US)
    try:
        yield server
    finally:
        await server.stop()


async def test_campaign_table_shows_click_view_and_halo_sales(
    browser: Browser, console: ConsoleServer, artifacts: Path
) -> None:
    """Each row shows click-through, view-through and halo sales (value and units); the footer sums them."""
    page = await browser.new_page(viewport={"width": 1600, "height": 900})
    page.set_default_timeout(10_000)
    await page.goto(console.url)
    await page.fill("#token", "viewer-token")
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("body[data-loaded='1']")
    row = page.locator("#campaigns tbody tr[data-campaign='cmp-1']")
    assert await row.locator("td.sales .sales-ct").inner_text() == "click $5.98 · 2"
    assert await row.locator("td.sales .sales-vt").inner_text() == "view $2.99 · 1"
    assert await row.locator("td.sales .sales-halo").inner_text() == "halo $7.50 · 3"
    assert await row.locator("td.sales .sales-vt").get_attribute("title") == "$2.990000 (2,990,000 micros), 1 unit"
    # View-through over both campaigns in the footer.
    assert await page.locator("#campaigns tfoot .sales-vt").inner_text() == "view $3.99 · 2"
    await page.locator("#campaigns").screenshot(path=str(artifacts / "console-sales.png"))
    assert (artifacts / "console-sales.png").stat().st_size > 0
