"""The operator console in headless Chromium against a real cloud with a connected edge and billed spend.

Needs Debian's chromium (/usr/bin/chromium) and the playwright package, like the cart screen's browser
tests; without them the tests skip locally and fail under CI=true. The screenshot lands in
artifacts/console.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.cloud_core.console.world import (
    CAMPAIGN_ID,
    IDLE_CAMPAIGN_ID,
    LATE_PLAYS,
    LAYER_ID,
    LIVE_IMPRESSIONS,
    STORE_ID,
    ConsoleWorld,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

# One engine is enough here: the console's queries run on both in test_api.py.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def sign_in(browser: Browser, world: ConsoleWorld, token: str) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 1500})
    page.set_default_timeout(10_000)
    await page.goto(world.url)
    await page.wait_for_selector("#login-form")
    await page.fill("#token", token)
    await page.click("#login-form button[type=submit]")
    return page


async def chart_ink(page: Page) -> int:
    """How many pixels of the chart's canvas are drawn (not transparent)."""
    return int(
        await page.evaluate(
            """() => {
                const c = document.getElementById("chart");
                const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                let n = 0;
                for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
                return n;
            }"""
        )
    )


async def test_console_shows_edges_spend_chart_and_totals(
    browser: Browser, world: ConsoleWorld, artifacts: Path
) -> None:
    """A signed-in viewer sees the world's state: the edge and its version, spend chart, totals and lift."""
    page = await sign_in(browser, world, world.viewer_token)
    await page.wait_for_selector("body[data-loaded='1']")
    row = page.locator(f"#edges tr[data-store='{STORE_ID}'][data-edge='edge-1']")
    assert "connected" in await row.inner_text()
    assert world.edge.index_version[:12] in await row.inner_text()
    assert "ACK" in await row.inner_text()
    canvas = page.locator("#chart")
    assert await canvas.get_attribute("data-campaign") == CAMPAIGN_ID
    assert await canvas.get_attribute("data-points") == "12"
    assert await chart_ink(page) > 5_000
    campaigns = await page.eval_on_selector_all("#campaigns tbody tr", "rows => rows.map(r => r.dataset.campaign)")
    assert campaigns == [CAMPAIGN_ID, IDLE_CAMPAIGN_ID]
    assert "All 2 campaigns" in await page.inner_text("#campaigns tfoot")
    # The impression ladder: plays, viewable impressions and their rate per campaign.
    head = (await page.inner_text("#campaigns thead")).lower()
    assert "plays" in head
    assert "viewable" in head
    plays = page.locator(f"#campaigns tbody tr[data-campaign='{CAMPAIGN_ID}'] td.plays")
    assert await plays.inner_text() == str(LIVE_IMPRESSIONS + LATE_PLAYS)
    viewable = await page.inner_text(f"#campaigns tbody tr[data-campaign='{CAMPAIGN_ID}'] td.viewable")
    assert viewable.endswith("%")
    exposed = page.locator(f".layer[data-layer='{LAYER_ID}'] tr[data-arm='exposed']")
    assert "+50.00 pp" in await exposed.inner_text()
    assert "holdout" in await page.inner_text(f".layer[data-layer='{LAYER_ID}'] tr[data-arm='holdout']")
    shot = artifacts / "console.png"
    await page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 20_000


async def test_delivery_panel_shows_the_selected_campaigns_status(
    browser: Browser, world: ConsoleWorld, tmp_path: Path
) -> None:
    """The delivery panel shows the campaign's state, summary, its store's lease row and the reasons."""
    page = await sign_in(browser, world, world.viewer_token)
    await page.wait_for_selector(f"body[data-delivery='{CAMPAIGN_ID}']")
    state = await page.inner_text("#delivery-state")
    assert state.lower() in {"on plan", "behind plan", "ahead of plan", "delivering (no daily plan)", "not delivering"}
    assert (await page.inner_text("#delivery-summary")).startswith("Spent $")
    row = page.locator(f"#delivery-stores tbody tr[data-store='{STORE_ID}']")
    assert STORE_ID in await row.inner_text()
    assert await page.locator("#delivery-reasons li").count() >= 1
    shot = tmp_path / "console-delivery.png"
    await page.locator("section[aria-labelledby='delivery-title']").screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 5_000
    # Picking another campaign reloads the panel for it.
    await page.select_option("#campaign", IDLE_CAMPAIGN_ID)
    await page.wait_for_selector(f"body[data-delivery='{IDLE_CAMPAIGN_ID}']")
    assert await page.get_attribute("#delivery-stores", "data-campaign") == IDLE_CAMPAIGN_ID


async def test_picking_a_campaign_redraws_the_chart(browser: Browser, world: ConsoleWorld) -> None:
    """Choosing another campaign draws its series: the idle campaign's flight hours, with no spend."""
    page = await sign_in(browser, world, world.viewer_token)
    await page.wait_for_selector("body[data-loaded='1']")
    await page.select_option("#campaign", IDLE_CAMPAIGN_ID)
    await page.wait_for_selector(f"#chart[data-campaign='{IDLE_CAMPAIGN_ID}']")
    assert await page.get_attribute("#chart", "data-points") == "4"
    assert "$0.00 of $5.00" in await page.inner_text("#chart-note")


async def test_a_wrong_token_keeps_the_login_with_its_reason(browser: Browser, world: ConsoleWorld) -> None:
    """A token the cloud does not know leaves the console locked and says why."""
    page = await sign_in(browser, world, "cat_not-a-real-token")
    await page.wait_for_selector("#login-error:not(:empty)")
    assert "unknown" in await page.inner_text("#login-error")
    assert await page.is_hidden("#main")


async def test_an_advertiser_token_is_refused(browser: Browser, world: ConsoleWorld) -> None:
    """An advertiser token signs in to nothing: the console says a viewer token or better is needed."""
    page = await sign_in(browser, world, world.advertiser_token)
    await page.wait_for_selector("#login-error:not(:empty)")
    assert "viewer" in await page.inner_text("#login-error")
