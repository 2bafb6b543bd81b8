"""cartads-admin over a real cloud: tokens, every settable field, pause/resume, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import admin_cli_json, run_admin_cli

pytestmark = pytest.mark.usefixtures("quiet_server_logs")


async def test_missing_token_is_one_line_unauthenticated(
    cloud_server: CloudServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --token the cloud refuses; the CLI prints one error line and exits 2."""
    assert await run_admin_cli(cloud_server, None, "stores", "list") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: UNAUTHENTICATED: ")
    assert err.count("\n") == 1


async def test_token_file_and_environment(
    cloud_server: CloudServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token is read from --token-file, or from CARTADS_TOKEN when no flag is given."""
    secret = await cloud_server.mint_token(Role.VIEWER)
    (tmp_path / "tok").write_text(secret + "\n")
    assert await run_admin_cli(cloud_server, None, "--token-file", str(tmp_path / "tok"), "stores", "list") == 0
    monkeypatch.setenv("CARTADS_TOKEN", secret)
    assert await run_admin_cli(cloud_server, None, "stores", "list") == 0
    assert await run_admin_cli(cloud_server, None, "--token-file", str(tmp_path / "missing"), "stores", "list") == 2
    assert capsys.readouterr().err.startswith("error: ")


async def test_tokens_create_list_revoke(
    cloud_server: CloudServer, admin_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """tokens create prints the secret once; list shows the token; revoke stops the secret working."""
    capsys.readouterr()
    assert await run_admin_cli(cloud_server, admin_token, "tokens", "create", "--role", "viewer", "--id", "t-v") == 0
    captured = capsys.readouterr()
    secret = captured.out.strip()
    assert "shown only this once" in captured.err
    assert await run_admin_cli(cloud_server, secret, "stores", "list") == 0
    rows = await admin_cli_json(cloud_server, admin_token, capsys, "tokens", "list")
    assert [r["token_id"] for r in rows if r["token_id"] == "t-v"] == ["t-v"]
    assert secret not in json.dumps(rows)
    assert await run_admin_cli(cloud_server, admin_token, "tokens", "revoke", "t-v") == 0
    capsys.readouterr()
    assert await run_admin_cli(cloud_server, secret, "stores", "list") == 2
    assert capsys.readouterr().err.startswith("error: UNAUTHENTICATED")


async def test_edge_token_needs_a_store(
    cloud_server: CloudServer, admin_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """tokens create --role edge without --store is one INVALID_ARGUMENT line naming the field."""
    capsys.readouterr()
    assert await run_admin_cli(cloud_server, admin_token, "tokens", "create", "--role", "edge") == 2
    assert capsys.readouterr().err == "error: INVALID_ARGUMENT: api_token.store_id: is required for an edge token\n"


async def test_line_item_serving_flags_round_trip(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tier, exclusion label, dayparting and both caps set on create come back from get."""
    create = (
        *("line-items", "create", "--id", "li1", "--campaign", "c1", "--name", "Li", "--pricing", "cpm"),
        *("--bid-micros", "5000000", "--creative", "cr1", "--tier", "sponsorship", "--exclusion-label", "soda"),
        *("--daypart-hour", "8", "--daypart-hour", "9", "--daypart-weekday", "6", "--cap", "3", "--creative-cap", "1"),
    )
    assert await run_admin_cli(cloud_server, seeded_token, *create) == 0
    item = await admin_cli_json(cloud_server, seeded_token, capsys, "line-items", "get", "li1")
    assert item["priority_tier"] == "PRIORITY_TIER_SPONSORSHIP"
    assert item["exclusion_label"] == "soda"
    assert item["targeting"]["daypart_hours"] == [8, 9]
    assert item["targeting"]["daypart_weekdays"] == [6]
    assert (item["frequency_cap_per_session"], item["creative_frequency_cap_per_session"]) == (3, 1)
    campaign = await admin_cli_json(cloud_server, seeded_token, capsys, "campaigns", "get", "c1")
    assert campaign["frequency_cap_per_session"] == 4


async def test_line_item_update_replaces_only_given_fields(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """update changes the flagged fields (lists replaced whole) and leaves the rest."""
    create = (
        *("line-items", "create", "--id", "li1", "--campaign", "c1", "--name", "Li", "--pricing", "cpm"),
        *("--bid-micros", "5000000", "--creative", "cr1", "--trigger", "scan"),
    )
    assert await run_admin_cli(cloud_server, seeded_token, *create) == 0
    update = ("line-items", "update", "li1", "--creative", "cr2", "--tier", "house", "--daypart-weekday", "7")
    item = await admin_cli_json(cloud_server, seeded_token, capsys, *update)
    assert item["creative_ids"] == ["cr2"]
    assert item["priority_tier"] == "PRIORITY_TIER_HOUSE"
    assert item["targeting"]["daypart_weekdays"] == [7]
    assert item["targeting"]["triggers"] == ["TRIGGER_SCAN"]
    assert item["bid_micros"] == "5000000"


async def test_pause_resume_and_creative_update(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """campaigns pause/resume use the custom methods; creatives update changes the headline."""
    assert (await admin_cli_json(cloud_server, seeded_token, capsys, "campaigns", "pause", "c1"))[
        "state"
    ] == "SERVING_STATE_PAUSED"
    assert (await admin_cli_json(cloud_server, seeded_token, capsys, "campaigns", "resume", "c1"))[
        "state"
    ] == "SERVING_STATE_ACTIVE"
    creative = await admin_cli_json(
        cloud_server, seeded_token, capsys, "creatives", "update", "cr1", "--headline", "Fresh"
    )
    assert creative["headline"] == "Fresh"
    assert creative["display_name"] == "Card"


async def test_rpc_error_names_code_field_and_message(
    cloud_server: CloudServer, seeded_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad bid is one line: code, field, message; exit 2."""
    capsys.readouterr()
    create = (
        *("line-items", "create", "--campaign", "c1", "--name", "Li", "--pricing", "cpm"),
        *("--bid-micros", "0", "--creative", "cr1"),
    )
    assert await run_admin_cli(cloud_server, seeded_token, *create) == 2
    assert capsys.readouterr().err == "error: INVALID_ARGUMENT: line_item.bid_micros: must be > 0\n"


def test_unreachable_cloud_is_one_line_in_a_real_process(tmp_path: Path) -> None:
    """The installed entry point, against nothing listening, prints one error line and no traceback."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "cloud_core.admin_cli.main", "--cloud", "127.0.0.1:1", "--timeout-s", "2"),
            *("--token", "x", "stores", "list"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: UNAVAILABLE")
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
