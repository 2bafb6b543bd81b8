"""``cartads-admin creatives approve|reject`` and ``cartads-admin audit list`` against a real cloud."""

from __future__ import annotations

import pytest

from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import admin_cli_json, run_admin_cli

pytestmark = pytest.mark.usefixtures("quiet_server_logs")


async def test_list_shows_pending_then_the_rejection_reason(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """creatives list shows a new creative PENDING; after reject --reason, REJECTED and the reason."""
    capsys.readouterr()
    assert await run_admin_cli(cloud_server, seeded_token, "creatives", "list") == 0
    assert " PENDING" in capsys.readouterr().out
    argv = ("creatives", "reject", "cr1", "--reason", "Logo too small to read")
    assert await run_admin_cli(cloud_server, seeded_token, *argv) == 0
    capsys.readouterr()
    assert await run_admin_cli(cloud_server, seeded_token, "creatives", "list") == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("cr1"))
    assert " REJECTED" in row
    assert "Logo too small to read" in row


async def test_approve_makes_it_approved(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """creatives approve ID answers the creative, APPROVED."""
    shown = await admin_cli_json(cloud_server, seeded_token, capsys, "creatives", "approve", "cr2")
    assert shown["review_status"] == "CREATIVE_REVIEW_STATUS_APPROVED"


async def test_reject_without_a_reason_is_a_usage_error(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """reject needs --reason: argparse says so (exit 2) before calling the cloud."""
    with pytest.raises(SystemExit) as exited:
        await run_admin_cli(cloud_server, seeded_token, "creatives", "reject", "cr1")
    assert exited.value.code == 2
    assert "--reason" in capsys.readouterr().err


async def test_audit_list_filters_and_shows_before_and_after(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """audit list --resource-type creative --resource-id cr1 shows the approval with the status before and after."""
    assert await run_admin_cli(cloud_server, seeded_token, "creatives", "approve", "cr1") == 0
    capsys.readouterr()
    argv = ("audit", "list", "--resource-type", "creative", "--resource-id", "cr1", "--limit", "1")
    assert await run_admin_cli(cloud_server, seeded_token, *argv) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["time", "actor", "role", "method", "resource", "changes"]
    assert "ApproveCreative" in row
    assert "creative cr1" in row
    assert '"CREATIVE_REVIEW_STATUS_PENDING" -> "CREATIVE_REVIEW_STATUS_APPROVED"' in row


async def test_audit_list_json_since_and_actor(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints the entries; --actor of another token and --since in the future print none."""
    entries = await admin_cli_json(cloud_server, seeded_token, capsys, "audit", "list", "--limit", "3")
    assert len(entries) == 3
    assert entries[0]["method"] == "CreateCampaign"
    assert await admin_cli_json(cloud_server, seeded_token, capsys, "audit", "list", "--actor", "tok-nobody") == []
    assert await admin_cli_json(cloud_server, seeded_token, capsys, "audit", "list", "--since", "2999-01-01") == []


async def test_audit_list_refuses_bad_input_and_advertisers(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown --resource-type names resource_type; --limit 0 is a usage error; an advertiser is refused."""
    capsys.readouterr()
    assert await run_admin_cli(cloud_server, seeded_token, "audit", "list", "--resource-type", "widget") == 2
    assert "resource_type" in capsys.readouterr().err
    assert await run_admin_cli(cloud_server, seeded_token, "audit", "list", "--limit", "0") == 2
    assert "--limit" in capsys.readouterr().err
    advertiser = await cloud_server.mint_token(Role.ADVERTISER, advertiser_id="acme")
    assert await run_admin_cli(cloud_server, advertiser, "audit", "list") == 2
    assert "PERMISSION_DENIED" in capsys.readouterr().err
