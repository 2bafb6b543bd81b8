"""What a new operator reads on the console, in headless Chromium: sub-cent spend, the time axis, edge
health in words, and the top bar while signed out.

The real console server and page over an in-memory store (``FakeConsoleReads``) and an injected clock,
so the figures are exact. Needs Debian's chromium and playwright like the other browser tests; without
them the tests skip locally and fail under CI=true.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from cartads.time_units import HOUR_US
from cloud_core.console.http import Access, ConsoleServer, start_console
from cloud_core.console.model import CampaignTotals, EdgeRow, HourlySpend
from tests.cloud_core.console.test_http import NOW_US, FakeConsoleReads

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

S = 1_000_000
FLIGHT_START_US = NOW_US - 20 * 24 * HOUR_US
# One $4.20 CPM impression: $0.0042, which rounds to "$0.00" in cents.
SUB_CENT_MICROS = 4_200


def _edge(edge_id: str, *, connected: bool, seen_s_ago: int) -> EdgeRow:
    return EdgeRow(
        "store-1", edge_id, connected, "v2", "v2", "ACK", NOW_US - 600 * S, 0, "", "", NOW_US - seen_s_ago * S
    )


def _reads() -> FakeConsoleReads:
    return FakeConsoleReads(
        edges=[
            _edge("edge-healthy", connected=True, seen_s_ago=37),
            _edge("edge-blip", connected=False, seen_s_ago=10),
            _edge("edge-gone", connected=False, seen_s_ago=20 * 60),
        ],
        campaigns={
            "cmp-1": CampaignTotals(
                "cmp-1",
                "adv-1",
                "Kombucha",
                100_000_000,
                FLIGHT_START_US,
                FLIGHT_START_US + 60 * 24 * HOUR_US,
                True,
                impressions=1,
                spend_micros=SUB_CENT_MICROS,
            )
        },
        hours={"cmp-1": [HourlySpend(NOW_US - 2 * HOUR_US, 1, 0, 0, SUB_CENT_MICROS)]},
    )


async def _tokens(token: str) -> Access:
    return Access.GRANTED if token == "viewer-token" else Access.UNKNOWN_TOKEN


@pytest.fixture
async def console() -> AsyncIterator[ConsoleServer]:
    """The console over the in-memory store, with a token check, on loopback port 0."""
    server = await start_console("127.0.0.1:0", _reads(), token_check=_tokens, now_us=lambda: NOW_US)
    try:
        yield server
    finally:
        await server.stop()


async def _signed_in(browser: Browser, console: ConsoleServer) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 1400})
    page.set_default_timeout(10_000)
    await page.goto(console.url)
    await page.fill("#token", "viewer-token")
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("body[data-loaded='1']")
    return page


async def test_sub_cent_spend_reads_as_spend_with_exact_micros(browser: Browser, console: ConsoleServer) -> None:
    """A campaign that spent $0.0042 shows "$0.0042" (exact micros in its title) and "<0.1%", not "$0.00 · 0.0%"."""
    page = await _signed_in(browser, console)
    spend = page.locator("#campaigns tbody tr[data-campaign='cmp-1'] td.spend")
    assert await spend.inner_text() == "$0.0042"
    assert "4,200 micros" in (await spend.get_attribute("title") or "")
    row = await page.inner_text("#campaigns tbody tr[data-campaign='cmp-1']")
    assert "<0.1%" in row
    assert "$0.00\t" not in row
    assert "$0.0042 of $100.00" in await page.inner_text("#chart-note")


async def test_the_time_axis_labels_are_distinct_and_true(browser: Browser, console: ConsoleServer) -> None:
    """The chart's ticks over a 3-week flight never repeat a label, and a 12-hour span labels its hours in order."""
    page = await _signed_in(browser, console)
    ticks = (await page.get_attribute("#chart", "data-ticks") or "").split("|")
    assert len(ticks) >= 4
    assert len(set(ticks)) == len(ticks)
    noon = "Date.UTC(2026, 11, 1, 12)"
    labels = await page.evaluate(f"() => timeTicks({noon}, {noon} + 12 * 3600e3).map((t) => t.label)")
    assert labels == ["12-01 12h", *[f"{h}h" for h in range(13, 24)], "12-02 00h"]
    week = await page.evaluate(f"() => timeTicks({noon}, {noon} + 7 * 24 * 3600e3).map((t) => t.label)")
    assert week == ["12-02", "12-03", "12-04", "12-05", "12-06", "12-07", "12-08"]


async def test_edge_health_is_in_words_with_an_age_only_when_offline(browser: Browser, console: ConsoleServer) -> None:
    """A connected edge reads "connected, healthy", no "37 s ago"; a brief drop reconnects; a long one says when."""
    page = await _signed_in(browser, console)
    healthy = await page.inner_text("#edges tr[data-edge='edge-healthy'] td.health")
    assert healthy == "connected, healthy"
    assert await page.inner_text("#edges tr[data-edge='edge-blip'] td.health") == "reconnecting"
    gone = await page.inner_text("#edges tr[data-edge='edge-gone'] td.health")
    assert gone.split("\n") == ["offline", "last seen 20 min ago"]


async def test_the_top_bar_says_signed_out_before_a_token(browser: Browser, console: ConsoleServer) -> None:
    """Signed out, the top bar asks for a token instead of "loading…"; signed in, it says when it updated."""
    page = await browser.new_page()
    page.set_default_timeout(10_000)
    await page.goto(console.url)
    await page.wait_for_selector("#login-form")
    assert "signed out" in await page.inner_text("#updated")
    assert await page.is_hidden("#refresh")
    await page.fill("#token", "viewer-token")
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("body[data-loaded='1']")
    assert (await page.inner_text("#updated")).startswith("updated ")
    await page.click("#logout")
    assert "signed out" in await page.inner_text("#updated")
