"""``cartads-admin carts``: enrolment writes usable credentials once (file mode 0600), list, update, revoke."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest

from cartads import cart_credential, credential_file
from cloud_core.admin_cli import main as admin_cli
from cloud_core.app.server import CloudServer

pytestmark = pytest.mark.usefixtures("quiet_server_logs")

STORE = "s1"


async def admin_cmd(cloud_server: CloudServer, token: str, *argv: str) -> int:
    return await asyncio.to_thread(
        admin_cli.main, ["--cloud", f"127.0.0.1:{cloud_server.port}", "--token", token, *argv]
    )


@pytest.fixture
async def token(cloud_server: CloudServer, admin_token: str) -> str:
    """The admin token, with store s1 created."""
    assert await admin_cmd(cloud_server, admin_token, "stores", "create", "--id", STORE, "--name", "Market") == 0
    return admin_token


async def enrolled_digests(cloud_server: CloudServer) -> dict[str, bytes]:
    """Credential id -> secret digest of every enrolled cart of s1, as the next index would carry them."""
    found = await cloud_server.store.carts.enrolled_carts([STORE])
    return {c.credential_id: c.secret_sha256 for c in found[STORE]}


async def test_enroll_count_out_writes_distinct_usable_credentials_mode_0600(
    cloud_server: CloudServer, token: str, tmp_path: Path
) -> None:
    """`enroll --count 8 --out F`: 8 entries, distinct, each accepted against its enrolled digest; mode 0600."""
    out = tmp_path / "carts.json"
    argv = ("carts", "enroll", "--store", STORE, "--count", "8", "--prefix", "sim-cart-", "--out", str(out))
    assert await admin_cmd(cloud_server, token, *argv) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    entries = credential_file.read(out)
    assert [e.cart_id for e in entries] == [f"sim-cart-{n:03d}" for n in range(8)]
    assert len({e.credential for e in entries}) == 8
    digests = await enrolled_digests(cloud_server)
    for e in entries:
        parsed = cart_credential.parse(e.credential)
        assert parsed.store_id == STORE
        assert cart_credential.matches(parsed.secret, digests[parsed.credential_id])


async def test_enroll_out_never_overwrites_and_enrols_nothing_then(
    cloud_server: CloudServer, token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing --out file is left alone, the command fails, and no cart is enrolled."""
    out = tmp_path / "carts.json"
    out.write_text("earlier credentials")
    assert (
        await admin_cmd(cloud_server, token, "carts", "enroll", "--store", STORE, "--cart", "c1", "--out", str(out))
        == 2
    )
    assert out.read_text() == "earlier credentials"
    assert "exists" in capsys.readouterr().err
    assert await enrolled_digests(cloud_server) == {}


async def test_enroll_prints_the_credential_once_and_list_never(
    cloud_server: CloudServer, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --out the credential is the one line on stdout; `carts list` shows the cart, not it."""
    capsys.readouterr()
    assert (
        await admin_cmd(cloud_server, token, "carts", "enroll", "--store", STORE, "--cart", "c1", "--class", "test")
        == 0
    )
    printed = capsys.readouterr()
    credential = printed.out.strip()
    assert cart_credential.parse(credential).store_id == STORE
    assert "only this once" in printed.err
    assert await admin_cmd(cloud_server, token, "--json", "carts", "list", "--store", STORE) == 0
    listed = capsys.readouterr().out
    assert credential.rsplit(":", 1)[1] not in listed
    assert [(c["cart_id"], c["traffic_class"]) for c in json.loads(listed)] == [("c1", "CART_TRAFFIC_CLASS_TEST")]


async def test_credentials_issued_before_a_failure_are_still_written(
    cloud_server: CloudServer, token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When cart 2 of 3 already exists, the command fails but the first cart's credential is in the file."""
    assert await admin_cmd(cloud_server, token, "carts", "enroll", "--store", STORE, "--cart", "cart-001") == 0
    out = tmp_path / "carts.json"
    argv = ("carts", "enroll", "--store", STORE, "--count", "3", "--out", str(out))
    assert await admin_cmd(cloud_server, token, *argv) == 2
    assert "ALREADY_EXISTS" in capsys.readouterr().err
    entries = credential_file.read(out)
    assert [e.cart_id for e in entries] == ["cart-000"]
    assert cart_credential.parse(entries[0].credential).credential_id in await enrolled_digests(cloud_server)


async def test_update_and_revoke(cloud_server: CloudServer, token: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`carts update` changes the class, `carts revoke` revokes: the cart leaves the enrolled set."""
    assert await admin_cmd(cloud_server, token, "carts", "enroll", "--store", STORE, "--cart", "c1") == 0
    assert (
        await admin_cmd(cloud_server, token, "carts", "update", "--store", STORE, "--cart", "c1", "--class", "staff")
        == 0
    )
    assert "staff" in capsys.readouterr().out
    assert await admin_cmd(cloud_server, token, "--json", "carts", "revoke", "--store", STORE, "--cart", "c1") == 0
    assert "revoke_time" in json.loads(capsys.readouterr().out)
    assert await enrolled_digests(cloud_server) == {}


@pytest.mark.parametrize(
    "argv",
    [
        ("carts", "enroll", "--store", STORE),
        ("carts", "enroll", "--store", STORE, "--cart", "c1", "--count", "2"),
        ("carts", "enroll", "--store", STORE, "--count", "0"),
        ("carts", "enroll", "--store", STORE, "--cart", "c1", "--prefix", "p-"),
        ("carts", "update", "--store", STORE, "--cart", "c1"),
    ],
    ids=["no-cart", "cart-and-count", "count-zero", "prefix-without-count", "nothing-to-update"],
)
async def test_usage_errors_are_one_line_and_change_nothing(
    cloud_server: CloudServer, token: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    """A contradictory or empty command exits 2 with one error line and enrols nothing."""
    capsys.readouterr()
    assert await admin_cmd(cloud_server, token, *argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert await enrolled_digests(cloud_server) == {}
