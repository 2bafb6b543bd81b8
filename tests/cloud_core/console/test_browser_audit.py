"""The console's audit panel in headless Chromium against a real cloud: the world's own changes are
listed with who made them and each field before and after, and the filter narrows them.

Needs Debian's chromium and playwright like test_browser.py; the screenshot is written to the test's
tmp_path (audit-panel.png).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from cartads.v1 import admin_pb2
from tests.cloud_core.console.test_browser import sign_in
from tests.cloud_core.console.world import CAMPAIGN_ID, ConsoleWorld

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def test_audit_panel_lists_changes_and_filters(browser: Browser, world: ConsoleWorld, tmp_path: Path) -> None:
    """The approval of the world's creative shows PENDING → APPROVED; filtering to campaigns keeps only those."""
    edit = admin_pb2.Campaign(campaign_id=CAMPAIGN_ID, display_name="Kombucha relaunch")
    mask = FieldMask(paths=["display_name"])
    await world.admin.UpdateCampaign(admin_pb2.UpdateCampaignRequest(campaign=edit, update_mask=mask))
    page = await sign_in(browser, world, world.viewer_token)
    await page.wait_for_selector("body[data-loaded='1']")
    approval = page.locator("#audit tbody tr[data-method='ApproveCreative']")
    text = await approval.inner_text()
    assert "creative cr-kombucha" in text
    assert '"CREATIVE_REVIEW_STATUS_PENDING" → "CREATIVE_REVIEW_STATUS_APPROVED"' in text
    assert "admin" in text
    await page.select_option("#audit-type", "campaign")
    await page.fill("#audit-id", CAMPAIGN_ID)
    await page.click("#audit-filter button[type=submit]")
    await page.wait_for_selector("#audit tbody tr[data-method='UpdateCampaign']")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#audit tbody tr')]"
        ".every(r => r.cells[3].textContent.startsWith('campaign '))"
    )
    rename = await page.inner_text("#audit tbody tr[data-method='UpdateCampaign']")
    assert '"Kombucha relaunch"' in rename
    await page.locator("#audit-title").scroll_into_view_if_needed()
    shot = tmp_path / "audit-panel.png"
    await page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 20_000
