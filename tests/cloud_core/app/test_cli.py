"""The console scripts: cartads-cloud runs and stops on SIGTERM; cartads-admin talks to a real cloud."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from cartads.sample.instacart import derive_price_micros
from cloud_core.app import cli
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import run_admin_cli_as_admin

pytestmark = pytest.mark.usefixtures("quiet_server_logs")


def test_cloud_help(capsys: pytest.CaptureFixture[str]) -> None:
    """cartads-cloud --help describes the flags and exits 0."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--db" in out
    assert "--listen" in out
    assert "CARTADS_DB" in out


async def test_cloud_process_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    """The cloud process serves on the port it prints and exits 0 on SIGTERM."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cloud_core.app.cli",
        "--db",
        str(tmp_path / "c.sqlite3"),
        "--listen",
        "127.0.0.1:0",
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        while True:
            line = (await asyncio.wait_for(proc.stderr.readline(), 15.0)).decode()
            assert line, "cloud exited before listening"
            if "listening on port" in line:
                break
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15.0) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert (tmp_path / "c.sqlite3").exists()


async def test_admin_creates_and_lists_as_json(cloud_server: CloudServer, capsys: pytest.CaptureFixture[str]) -> None:
    """stores create then stores list --json shows the store."""
    assert (
        await run_admin_cli_as_admin(
            cloud_server, "stores", "create", "--id", "s1", "--name", "Test Market", "--tz", "UTC"
        )
        == 0
    )
    capsys.readouterr()
    assert await run_admin_cli_as_admin(cloud_server, "--json", "stores", "list") == 0
    stores = json.loads(capsys.readouterr().out)
    assert [(s["store_id"], s["time_zone"]) for s in stores] == [("s1", "UTC")]


async def test_admin_error_is_one_line_with_field(
    cloud_server: CloudServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rejected campaign prints one error line naming the field and exits 2."""
    assert await run_admin_cli_as_admin(cloud_server, "advertisers", "create", "--id", "acme", "--name", "Acme") == 0
    capsys.readouterr()
    code = await run_admin_cli_as_admin(
        cloud_server,
        *("campaigns", "create", "--advertiser", "acme", "--name", "N", "--budget-micros", "0"),
        *("--start", "2026-01-01", "--end", "2026-02-01"),
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err == "error: INVALID_ARGUMENT: campaign.budget_micros: must be > 0\n"


async def test_admin_bad_date_is_usage_error(cloud_server: CloudServer, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed date is reported without a traceback."""
    code = await run_admin_cli_as_admin(
        cloud_server,
        *("campaigns", "create", "--advertiser", "a", "--name", "N", "--budget-micros", "1"),
        *("--start", "yesterday", "--end", "2026-02-01"),
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("error: 'yesterday' is not an ISO 8601")


async def test_admin_imports_instacart_catalog(
    cloud_server: CloudServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """catalog import reads the Instacart CSVs and derives brand and price."""
    (tmp_path / "aisles.csv").write_text('"aisle_id","aisle"\n24,"fresh fruits"\n')
    (tmp_path / "departments.csv").write_text('"department_id","department"\n4,"produce"\n')
    (tmp_path / "products.csv").write_text(
        '"product_id","product_name","aisle_id","department_id"\n24852,"Banana Chips",24,4\n'
    )
    assert await run_admin_cli_as_admin(cloud_server, "stores", "create", "--id", "s1", "--name", "M") == 0
    assert (
        await run_admin_cli_as_admin(cloud_server, "catalog", "import", "--store", "s1", "--instacart", str(tmp_path))
        == 0
    )
    capsys.readouterr()
    assert await run_admin_cli_as_admin(cloud_server, "--json", "catalog", "products", "--store", "s1") == 0
    [product] = json.loads(capsys.readouterr().out)
    assert product["brand"] == "Banana"
    assert int(product["price_micros"]) == derive_price_micros("24852", "produce")


async def test_admin_spend_report_table(cloud_server: CloudServer, capsys: pytest.CaptureFixture[str]) -> None:
    """report spend prints a table and the totals line."""
    assert await run_admin_cli_as_admin(cloud_server, "report", "spend") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("campaign_id")
    assert "total_spend_micros=0" in out


def test_legacy_cut_over_and_terms_retention_come_from_flags() -> None:
    """--legacy-store-key-tokens-until (ISO-8601 with zone) and --terms-retention-days reach the config."""
    from cloud_core.app.cli import build_parser, config_from_args

    args = build_parser().parse_args(
        ["--db", "x.sqlite3", "--legacy-store-key-tokens-until", "2026-12-08T00:00:00Z", "--terms-retention-days", "10"]
    )
    config = config_from_args(args)
    assert (config.legacy_store_key_tokens_until_us, config.terms_retention_days) == (1_796_688_000_000_000, 10)
    assert config_from_args(build_parser().parse_args(["--db", "x"])).legacy_store_key_tokens_until_us is None
