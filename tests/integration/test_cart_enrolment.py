"""Carts enrolled with `cartads-admin carts enroll` against a real cloud and edge: the cart and the
simulator send their credential files; `carts revoke` shuts a cart out within seconds; a missing or
refused credential is one clear line, not a retry loop."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import grpc
import pytest

from cart_client.sensors.trace import Checkout, Scan, SensorEvent, Weight, Zone, dump_trace
from cart_client.sim import cli as sim_cli
from cartads import cart_credential, credential_file
from cartads.v1 import ad_service_pb2, common_pb2
from cloud_core.admin_cli import main as admin_cli
from tests.eventually import eventually
from tests.integration.whole_loop import STORE_ID, Loop

# Bananas (24852) weigh 456 g in the shipped sample catalog the cart loads by default.
TRACE: list[SensorEvent] = [Zone("zone-24", 0), Scan("24852", 4_000), Weight(455.0, 5_000), Checkout(20_000)]


async def admin(loop: Loop, *argv: str) -> int:
    """``cartads-admin`` as an operator runs it, against the loop's cloud."""
    args = ["--cloud", f"127.0.0.1:{loop.cloud.port}", "--token", loop.admin_token, *argv]
    return await asyncio.to_thread(admin_cli.main, args)


async def enroll(loop: Loop, path: Path, *argv: str) -> list[credential_file.CartCredentialEntry]:
    """``carts enroll ... --out path``; the entries, once the edge serves an index with all of them."""
    assert await admin(loop, "carts", "enroll", "--store", STORE_ID, *argv, "--out", str(path)) == 0
    entries = credential_file.read(path)
    ids = [cart_credential.parse(e.credential).credential_id for e in entries]
    await eventually(lambda: all(loop.edge.knows_credential(i) for i in ids), timeout_s=10, what="carts at the edge")
    return entries


async def run_cart(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cart_client.app.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def cart_args(loop: Loop, trace: Path, *extra: str) -> list[str]:
    return [
        "--edge",
        f"127.0.0.1:{loop.edge.port}",
        "--store",
        STORE_ID,
        "--trace",
        str(trace),
        "--deadline-ms",
        "5000",
        "--json",
        *extra,
    ]


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "trip.jsonl"
    path.write_text("\n".join(dump_trace(TRACE)) + "\n")
    return path


def get_ads(cart_id: str, credential: str, session_id: str) -> ad_service_pb2.GetAdsRequest:
    return ad_service_pb2.GetAdsRequest(
        store_id=STORE_ID,
        cart_id=cart_id,
        cart_credential=credential,
        session_id=session_id,
        trigger=common_pb2.TRIGGER_SESSION_START,
        max_ads=1,
    )


async def test_revoking_with_cartads_admin_shuts_the_cart_out_within_seconds(loop: Loop, tmp_path: Path) -> None:
    """`carts revoke` through the AdminService: the edge refuses the cart (UNAUTHENTICATED) within 5 s."""
    [entry] = await enroll(loop, tmp_path / "cart.json", "--cart", "cart-revoked")
    assert (await loop.ads.GetAds(get_ads(entry.cart_id, entry.credential, "s-before"))).index_version
    started = time.monotonic()
    assert await admin(loop, "carts", "revoke", "--store", STORE_ID, "--cart", entry.cart_id) == 0

    async def refused() -> bool:
        try:
            await loop.ads.GetAds(get_ads(entry.cart_id, entry.credential, f"s-{time.monotonic()}"))
        except grpc.aio.AioRpcError as exc:
            return exc.code() == grpc.StatusCode.UNAUTHENTICATED
        return False

    await eventually(refused, timeout_s=5.0, interval_s=0.02, what="the revoked cart refused")
    assert time.monotonic() - started < 5.0


async def test_cart_with_its_credential_file_is_served(loop: Loop, tmp_path: Path, trace: Path) -> None:
    """`cartads-cart --credential-file` (from `carts enroll --out`) is served as its enrolled cart."""
    path = tmp_path / "cart.json"
    await enroll(loop, path, "--cart", "cart-cli")
    code, out, err = await run_cart(*cart_args(loop, trace, "--credential-file", str(path)))
    assert code == 0, err
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["ad_requests"] > 0
    assert stats["ad_request_errors"] == 0
    assert stats["events_unreported"] == 0


async def test_missing_credential_file_is_one_clear_line(loop: Loop, tmp_path: Path, trace: Path) -> None:
    """A credential file that does not exist: exit 3 and one line naming it."""
    missing = tmp_path / "nope.json"
    code, _, err = await run_cart(*cart_args(loop, trace, "--credential-file", str(missing)))
    assert code == 3
    assert err.strip().splitlines() == [f"cartads-cart: credential file {missing} does not exist"]


async def test_refused_credential_is_one_clear_line_not_a_retry_loop(loop: Loop, tmp_path: Path, trace: Path) -> None:
    """A revoked cart's credential file: the first refusal ends the run (exit 3) with one line, no secret."""
    path = tmp_path / "cart.json"
    [entry] = await enroll(loop, path, "--cart", "cart-gone-cli")
    assert await admin(loop, "carts", "revoke", "--store", STORE_ID, "--cart", entry.cart_id) == 0
    credential_id = cart_credential.parse(entry.credential).credential_id
    await eventually(lambda: not loop.edge.knows_credential(credential_id), timeout_s=10, what="revocation at edge")
    started = time.monotonic()
    code, _, err = await run_cart(*cart_args(loop, trace, "--credential-file", str(path)))
    lines = err.strip().splitlines()
    assert code == 3
    assert len(lines) == 1
    assert "refused this cart's credential (UNAUTHENTICATED" in lines[0]
    assert entry.credential.rsplit(":", 1)[1] not in err
    assert time.monotonic() - started < 20


async def test_simulator_carts_each_send_their_own_credential(loop: Loop, tmp_path: Path) -> None:
    """`cartads-sim --replay --credentials FILE`: each simulated cart is an enrolled cart; every event reported."""
    path = tmp_path / "sim.json"
    await enroll(loop, path, "--count", "2", "--prefix", "sim-cart-")
    trips = tmp_path / "trips"
    assert await asyncio.to_thread(sim_cli.main, ["--orders", "2", "--seed", "3", "--out", str(trips)]) == 0
    argv = ["--replay", str(trips), "--edge", f"127.0.0.1:{loop.edge.port}", "--store", STORE_ID]
    argv += ["--carts", "2", "--credentials", str(path), "--deadline-ms", "5000", "--json"]
    code = await asyncio.to_thread(sim_cli.main, argv)
    assert code == 0


async def test_simulator_with_a_missing_credentials_path_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cartads-sim --credentials` naming nothing: exit 3 and one line."""
    trips = tmp_path / "trips"
    trips.mkdir()
    (trips / "t.jsonl").write_text("\n".join(dump_trace(TRACE)) + "\n")
    argv = ["--replay", str(trips), "--edge", "127.0.0.1:9", "--store", STORE_ID]
    argv += ["--credentials", str(tmp_path / "missing.json")]
    assert sim_cli.main(argv) == 3
    assert capsys.readouterr().err.strip().splitlines() == [
        f"cartads-sim: credential file {tmp_path / 'missing.json'} does not exist"
    ]
