"""``cartads-cloud create-token``: the first admin token, made straight in the database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2, admin_pb2_grpc
from cloud_core.app import cli
from cloud_core.app.server import start_cloud
from cloud_core.config import CloudConfig


async def test_bootstrap_admin_token_works_on_the_cloud(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The secret printed by create-token --role admin authenticates AdminService on that database."""
    db = str(tmp_path / "cloud.sqlite3")
    argv = ["create-token", "--db", db, "--role", "admin", "--display-name", "ops"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    captured = capsys.readouterr()
    secret = captured.out.strip()
    assert secret.startswith("cat_")
    assert "shown only this once" in captured.err
    cloud = await start_cloud(CloudConfig(db=db, listen_address="127.0.0.1:0"))
    try:
        async with aio_channel(f"127.0.0.1:{cloud.port}", secret) as channel:
            tokens = await admin_pb2_grpc.AdminServiceStub(channel).ListApiTokens(admin_pb2.ListApiTokensRequest())
    finally:
        await cloud.stop(grace_s=0.1)
    assert [t.display_name for t in tokens.api_tokens] == ["ops"]


def test_json_output_and_edge_binding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the token and its secret; an edge token for a store that does not exist is refused."""
    db = str(tmp_path / "cloud.sqlite3")
    assert cli.main(["create-token", "--db", db, "--role", "viewer", "--id", "v1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["api_token"]["token_id"] == "v1"
    assert printed["secret"].startswith("cat_")
    assert cli.main(["create-token", "--db", db, "--role", "edge", "--store", "nowhere"]) == 2
    assert capsys.readouterr().err == "error: NOT_FOUND: store 'nowhere' does not exist\n"
    assert cli.main(["create-token", "--db", db, "--role", "edge"]) == 2
    assert "--store: is required" in capsys.readouterr().err


async def test_a_token_made_on_the_shell_is_in_the_audit_trail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """create-token records the token it issues (actor "local"), and never its secret."""
    db = str(tmp_path / "cloud.sqlite3")
    argv = ["create-token", "--db", db, "--role", "admin", "--id", "boot", "--display-name", "ops"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    secret = capsys.readouterr().out.strip()
    cloud = await start_cloud(CloudConfig(db=db, listen_address="127.0.0.1:0"))
    try:
        async with aio_channel(f"127.0.0.1:{cloud.port}", secret) as channel:
            request = admin_pb2.ListAuditEntriesRequest(resource_type="api_token")
            entries = (await admin_pb2_grpc.AdminServiceStub(channel).ListAuditEntries(request)).audit_entries
    finally:
        await cloud.stop(grace_s=0.1)
    assert [(e.actor_token_id, e.resource_id) for e in entries] == [("local", "boot")]
    assert secret not in str(entries[0])
