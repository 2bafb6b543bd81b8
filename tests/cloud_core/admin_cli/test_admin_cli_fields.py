"""cartads-admin over a real cloud: tokens, every settable field, pause/resume, one-line errors."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloud_core.access.policy import Role
from cloud_core.admin_cli import main as admin_cli
from cloud_core.app.server import CloudServer

pytestmark = pytest.mark.usefixtures("quiet_server_logs")


async def admin_cmd(cloud: CloudServer, token: str | None, *argv: str) -> int:
    flags = ["--cloud", f"127.0.0.1:{cloud.port}"] + (["--token", token] if token else [])
    return await asyncio.to_thread(admin_cli.main, [*flags, *argv])


async def json_of(cloud: CloudServer, token: str, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    assert await admin_cmd(cloud, token, "--json", *argv) == 0
    return json.loads(capsys.readouterr().out)


BANNER = ("--format", "banner", "--headline", "Hello", "--body", "Cold drinks in aisle 31")


@pytest.fixture
async def seeded(cloud: CloudServer, admin_token: str) -> str:
    """A store with a two-aisle catalog, advertiser acme, creative cr1 and campaign c1; the admin token."""
    steps = [
        ("stores", "create", "--id", "s1", "--name", "Market"),
        ("advertisers", "create", "--id", "acme", "--name", "Acme"),
        ("creatives", "create", "--id", "cr1", "--advertiser", "acme", "--name", "Card", *BANNER),
        ("creatives", "create", "--id", "cr2", "--advertiser", "acme", "--name", "Card 2", *BANNER),
        (
            *("campaigns", "create", "--id", "c1", "--advertiser", "acme", "--name", "Launch"),
            *("--budget-micros", "100000000", "--start", "2026-01-01", "--end", "2030-01-01", "--cap", "4"),
        ),
    ]
    for step in steps:
        assert await admin_cmd(cloud, admin_token, *step) == 0
    return admin_token


async def test_missing_token_is_one_line_unauthenticated(
    cloud: CloudServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --token the cloud refuses; the CLI prints one error line and exits 2."""
    assert await admin_cmd(cloud, None, "stores", "list") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: UNAUTHENTICATED: ")
    assert err.count("\n") == 1


async def test_token_file_and_environment(
    cloud: CloudServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token is read from --token-file, or from CARTADS_TOKEN when no flag is given."""
    secret = await cloud.mint_token(Role.VIEWER)
    (tmp_path / "tok").write_text(secret + "\n")
    assert await admin_cmd(cloud, None, "--token-file", str(tmp_path / "tok"), "stores", "list") == 0
    monkeypatch.setenv("CARTADS_TOKEN", secret)
    assert await admin_cmd(cloud, None, "stores", "list") == 0
    assert await admin_cmd(cloud, None, "--token-file", str(tmp_path / "missing"), "stores", "list") == 2
    assert capsys.readouterr().err.startswith("error: ")


async def test_tokens_create_list_revoke(
    cloud: CloudServer, admin_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """tokens create prints the secret once; list shows the token; revoke stops the secret working."""
    capsys.readouterr()
    assert await admin_cmd(cloud, admin_token, "tokens", "create", "--role", "viewer", "--id", "t-v") == 0
    captured = capsys.readouterr()
    secret = captured.out.strip()
    assert "shown only this once" in captured.err
    assert await admin_cmd(cloud, secret, "stores", "list") == 0
    rows = await json_of(cloud, admin_token, capsys, "tokens", "list")
    assert [r["token_id"] for r in rows if r["token_id"] == "t-v"] == ["t-v"]
    assert secret not in json.dumps(rows)
    assert await admin_cmd(cloud, admin_token, "tokens", "revoke", "t-v") == 0
    capsys.readouterr()
    assert await admin_cmd(cloud, secret, "stores", "list") == 2
    assert capsys.readouterr().err.startswith("error: UNAUTHENTICATED")


async def test_edge_token_needs_a_store(
    cloud: CloudServer, admin_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """tokens create --role edge without --store is one INVALID_ARGUMENT line naming the field."""
    capsys.readouterr()
    assert await admin_cmd(cloud, admin_token, "tokens", "create", "--role", "edge") == 2
    assert capsys.readouterr().err == "error: INVALID_ARGUMENT: api_token.store_id: is required for an edge token\n"


async def test_line_item_serving_flags_round_trip(
    cloud: CloudServer, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tier, exclusion label, dayparting and both caps set on create come back from get."""
    create = (
        *("line-items", "create", "--id", "li1", "--campaign", "c1", "--name", "Li", "--pricing", "cpm"),
        *("--bid-micros", "5000000", "--creative", "cr1", "--tier", "sponsorship", "--exclusion-label", "soda"),
        *("--daypart-hour", "8", "--daypart-hour", "9", "--daypart-weekday", "6", "--cap", "3", "--creative-cap", "1"),
    )
    assert await admin_cmd(cloud, seeded, *create) == 0
    item = await json_of(cloud, seeded, capsys, "line-items", "get", "li1")
    assert item["priority_tier"] == "PRIORITY_TIER_SPONSORSHIP"
    assert item["exclusion_label"] == "soda"
    assert item["targeting"]["daypart_hours"] == [8, 9]
    assert item["targeting"]["daypart_weekdays"] == [6]
    assert (item["frequency_cap_per_session"], item["creative_frequency_cap_per_session"]) == (3, 1)
    campaign = await json_of(cloud, seeded, capsys, "campaigns", "get", "c1")
    assert campaign["frequency_cap_per_session"] == 4


async def test_line_item_update_replaces_only_given_fields(
    cloud: CloudServer, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """update changes the flagged fields (lists replaced whole) and leaves the rest."""
    create = (
        *("line-items", "create", "--id", "li1", "--campaign", "c1", "--name", "Li", "--pricing", "cpm"),
        *("--bid-micros", "5000000", "--creative", "cr1", "--trigger", "scan"),
    )
    assert await admin_cmd(cloud, seeded, *create) == 0
    update = ("line-items", "update", "li1", "--creative", "cr2", "--tier", "house", "--daypart-weekday", "7")
    item = await json_of(cloud, seeded, capsys, *update)
    assert item["creative_ids"] == ["cr2"]
    assert item["priority_tier"] == "PRIORITY_TIER_HOUSE"
    assert item["targeting"]["daypart_weekdays"] == [7]
    assert item["targeting"]["triggers"] == ["TRIGGER_SCAN"]
    assert item["bid_micros"] == "5000000"


async def test_pause_resume_and_creative_update(
    cloud: CloudServer, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """campaigns pause/resume use the custom methods; creatives update changes the headline."""
    assert (await json_of(cloud, seeded, capsys, "campaigns", "pause", "c1"))["state"] == "SERVING_STATE_PAUSED"
    assert (await json_of(cloud, seeded, capsys, "campaigns", "resume", "c1"))["state"] == "SERVING_STATE_ACTIVE"
    creative = await json_of(cloud, seeded, capsys, "creatives", "update", "cr1", "--headline", "Fresh")
    assert creative["headline"] == "Fresh"
    assert creative["display_name"] == "Card"


async def test_rpc_error_names_code_field_and_message(
    cloud: CloudServer, seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad bid is one line: code, field, message; exit 2."""
    capsys.readouterr()
    create = (
        *("line-items", "create", "--campaign", "c1", "--name", "Li", "--pricing", "cpm"),
        *("--bid-micros", "0", "--creative", "cr1"),
    )
    assert await admin_cmd(cloud, seeded, *create) == 2
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
