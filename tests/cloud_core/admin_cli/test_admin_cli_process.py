"""cartads-admin as a real process: a closed stdout, and what it imports."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from cartads.v1 import admin_pb2
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import seed

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

pytestmark = pytest.mark.usefixtures("quiet_server_logs")


def _admin_process(argv: list[str], stdout: int, unbuffered: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "cloud_core.admin_cli.main", *argv],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


# Buffered, the output meets the closed pipe at the final flush; unbuffered, in the middle of the command.
@pytest.mark.parametrize("unbuffered", [False, True])
async def test_closed_stdout_ends_quietly_with_status_0(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub, admin_token: str, unbuffered: bool
) -> None:
    """Piped into a reader that has gone (as `| head` does), the command exits 0 and prints nothing on stderr."""
    await admin.CreateStore(admin_pb2.CreateStoreRequest(store_id="s1", store=admin_pb2.Store(display_name="Market")))
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        argv = ["--cloud", f"127.0.0.1:{cloud_server.port}", "--token", admin_token, "stores", "list"]
        result = await asyncio.to_thread(_admin_process, argv, write_end, unbuffered)
    finally:
        os.close(write_end)
    assert result.returncode == 0
    assert result.stderr == ""


def test_imports_no_module_of_the_cloud_server() -> None:
    """cartads-admin is a gRPC client only: importing it loads no cloud_core module outside admin_cli."""
    code = "import sys, cloud_core.admin_cli.main; print(*sorted(sys.modules), sep='\\n')"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    server_modules = [m for m in loaded if m.startswith("cloud_core.") and not m.startswith("cloud_core.admin_cli")]
    assert "cloud_core.admin_cli.main" in loaded
    assert server_modules == []


def test_missing_flag_is_one_line_and_a_hint() -> None:
    """A required flag left out prints one error line naming it and a hint, not the usage block (exit 2)."""
    result = _admin_process(["campaigns", "create", "--name", "x"], subprocess.PIPE, unbuffered=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "cartads-admin: error: the following arguments are required: --advertiser, --budget-micros, --start, --end",
        "cartads-admin: hint: `cartads-admin campaigns create --help` lists every flag",
    ]


async def test_line_item_without_a_tier_shows_auction(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub, admin_token: str
) -> None:
    """`line-items create` without --tier prints the line item in the auction tier, as --help promises."""
    await seed(admin)
    argv = ["--cloud", f"127.0.0.1:{cloud_server.port}", "--token", admin_token, "--json", "line-items", "create"]
    argv += [
        "--id",
        "li-9",
        "--campaign",
        "c1",
        "--name",
        "n",
        "--pricing",
        "cpm",
        "--bid-micros",
        "1000000",
        "--creative",
        "cr1",
    ]
    result = await asyncio.to_thread(_admin_process, argv, subprocess.PIPE, False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["priority_tier"] == "PRIORITY_TIER_AUCTION"


@pytest.mark.parametrize(("flag", "field"), [("--store", "store_ids[0]"), ("--layer", "layer_id")])
async def test_report_on_an_unknown_store_or_layer_is_not_found(
    cloud_server: CloudServer, admin_token: str, flag: str, field: str
) -> None:
    """`report run --store/--layer` naming nothing answers one NOT_FOUND line naming the id, not an empty table."""
    argv = ["--cloud", f"127.0.0.1:{cloud_server.port}", "--token", admin_token, "report", "run", flag, "nowhere"]
    result = await asyncio.to_thread(_admin_process, argv, subprocess.PIPE, False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: NOT_FOUND: ")
    assert "'nowhere'" in result.stderr
    assert field in result.stderr, result.stderr
