"""cartads-admin campaigns: the sales attribution windows, set, shown and refused with the field named."""

from __future__ import annotations

import pytest

from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import admin_cli_json, run_admin_cli

pytestmark = pytest.mark.usefixtures("quiet_server_logs")


async def test_update_sets_both_windows_and_get_shows_them(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--click-through-window-s and --view-through-window-s change only those fields; get shows them."""
    update = ("campaigns", "update", "c1", "--click-through-window-s", "86400", "--view-through-window-s", "3600")
    assert await run_admin_cli(cloud_server, seeded_token, *update) == 0
    campaign = await admin_cli_json(cloud_server, seeded_token, capsys, "campaigns", "get", "c1")
    assert (campaign["click_through_window_s"], campaign["view_through_window_s"]) == ("86400", "3600")
    assert campaign["frequency_cap_per_session"] == 4


async def test_window_past_fourteen_days_is_one_invalid_argument_line(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A view-through window of 14 days and a second is refused naming the field; exit 2."""
    capsys.readouterr()
    update = ("campaigns", "update", "c1", "--view-through-window-s", str(14 * 86400 + 1))
    assert await run_admin_cli(cloud_server, seeded_token, *update) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: INVALID_ARGUMENT: campaign.view_through_window_s: must be between 0")
    assert err.count("\n") == 1
