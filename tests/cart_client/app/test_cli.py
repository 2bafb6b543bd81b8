"""The cartads-cart command line."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import pytest

from cart_client.app.cli import main
from cart_client.sensors.trace import Checkout, Scan, SensorEvent, Touch, Weight, Zone, dump_trace
from cartads.v1 import common_pb2
from tests.cart_client.fakes import FakeAdService
from tests.cart_client.grpc_fake import fake_edge

# Bananas (24852) weigh 456 g in the shipped sample catalog the cart loads by default.
TRACE: list[SensorEvent] = [
    Zone("zone-24", 0),
    Scan("24852", 4_000),
    Weight(455.0, 5_000),
    Touch("slot-0", 8_000),
    Checkout(20_000),
]


# These tests check what the cart does with answers, not the 50 ms default deadline, which a loaded CI
# machine can miss on a fresh process's first call.
_PATIENT = ("--deadline-ms", "5000")


async def run_cli(*args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cart_client.app.cli",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=20)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def test_help_describes_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    """--help exits 0 and names the edge and trace options."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--edge" in out
    assert "--trace" in out


def test_edge_is_required(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --edge or CARTADS_EDGE the command refuses to start."""
    monkeypatch.delenv("CARTADS_EDGE", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["--store", "store-1"])
    assert exit_info.value.code == 2
    assert "--edge" in capsys.readouterr().err


def test_bad_edge_address_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """An --edge that is not HOST:PORT is a usage error naming the value."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--edge", "localhost", "--store", "store-1"])
    assert exit_info.value.code == 2
    assert "HOST:PORT" in capsys.readouterr().err


async def test_missing_trace_file_is_a_clear_error(tmp_path: Path) -> None:
    """A trace file that cannot be opened exits 2 with the path in the message."""
    missing = tmp_path / "nope.jsonl"
    code, _, err = await run_cli("--edge", "127.0.0.1:1", "--store", "s", "--trace", str(missing))
    assert code == 2
    assert str(missing) in err


async def test_trace_file_end_to_end_with_json_stats(tmp_path: Path) -> None:
    """A trace file replays against a real edge; malformed lines are warned about; stats match the edge."""
    lines = list(dump_trace(TRACE))
    lines.insert(1, '{"type": "scan"}')
    trace = tmp_path / "trip.jsonl"
    trace.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fake = FakeAdService()
    async with fake_edge(fake) as edge:
        code, out, err = await run_cli(
            "--edge", edge.address, "--store", "store-1", "--cart", "cart-9", "--trace", str(trace), "--json", *_PATIENT
        )
    assert code == 0, err
    stats = json.loads(out)
    assert stats["impressions_reported"] == len(fake.journaled(common_pb2.EVENT_TYPE_IMPRESSION)) == 8
    assert stats["clicks_reported"] == len(fake.journaled(common_pb2.EVENT_TYPE_CLICK)) == 1
    assert stats["ad_requests"] == len(fake.get_ads_requests) == 4
    assert {r.cart_id for r in fake.get_ads_requests} == {"cart-9"}
    warnings = [json.loads(line) for line in err.splitlines() if "trace_line_skipped" in line]
    assert [(w["line"], w["level"]) for w in warnings] == [(2, "warning")]
    assert "a scan needs 'product_id' or 'code'" in warnings[0]["error"]
    assert stats["basket_adds"] == len(fake.journaled(common_pb2.EVENT_TYPE_BASKET_ADD)) == 1
    assert stats["mismatches"] == 0


async def test_stdin_trace_renders_ads_as_text() -> None:
    """With the trace on stdin, ads are drawn as text lines and a summary closes the trip."""
    fake = FakeAdService()
    trace = ("\n".join(dump_trace(TRACE)) + "\n").encode()
    async with fake_edge(fake) as edge:
        code, out, err = await run_cli("--edge", edge.address, "--store", "store-1", *_PATIENT, stdin=trace)
    assert code == 0, err
    ad_lines = [line for line in out.splitlines() if line.startswith("[slot-")]
    assert len(ad_lines) == 8
    assert "Fresh Bananas — Sweet and ripe (Add to cart)" in ad_lines[0]
    assert out.splitlines()[-1].startswith("trip done: 4 ad requests")


async def test_live_cart_with_screen_and_tcp_sensors() -> None:
    """--screen and --sensor-port run a live cart: TCP sensors, the page served, events reported, stats at checkout."""
    fake = FakeAdService()
    async with fake_edge(fake) as edge:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cart_client.app.cli",
            *("--edge", edge.address, "--store", "store-1", "--cart", "cart-5", "--json"),
            *("--screen", "127.0.0.1:0", "--sensor-port", "0"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            listening = {}
            while "address" not in listening:
                listening = json.loads(await asyncio.wait_for(process.stderr.readline(), 20))
            screen_line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
            assert screen_line.startswith("cart screen: http://127.0.0.1:")
            url = screen_line.split(": ", 1)[1].strip()
            async with aiohttp.ClientSession() as http, http.get(f"{url}healthz") as response:
                assert (await response.json())["ok"] is True
            host, port = listening["address"].rsplit(":", 1)
            _, writer = await asyncio.open_connection(host, int(port))
            writer.write(("\n".join(dump_trace(TRACE)) + "\n").encode())
            await writer.drain()
            out, err = await asyncio.wait_for(process.communicate(), 20)
            writer.close()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err.decode()
    stats = json.loads(out.decode().strip().splitlines()[-1])
    assert stats["basket_adds"] == len(fake.journaled(common_pb2.EVENT_TYPE_BASKET_ADD)) == 1
    assert len(fake.journaled(common_pb2.EVENT_TYPE_CHECKOUT)) == 1
    assert stats["ads_served"] == sum(len(r.slots) for r in fake.get_ads_requests) > 0  # the fake fills every slot
    assert stats["impressions_reported"] == 0  # nobody looked at the page, so nothing was viewable
