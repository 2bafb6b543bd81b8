"""The README's "Running each component by hand", run as written: its commands, parsed out of the
README's code block in order, against a fresh real ``cartads-cloud``, ``cartads-edge``, carts and
simulator, each a process of its own. The README and this test cannot drift: change the walkthrough
and this runs the new one.

What a person does between the lines the test does too: the block's ``/tmp/cartads`` becomes a
temporary directory, its ports free ones (``CARTADS_CLOUD`` points ``cartads-admin`` at the cloud,
as the default address would), and after a server started with ``&`` it waits until that server
answers its health check (the edge: until it serves an index), as one waits for a prompt.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cartads.reported_file import read_reported
from tests.eventually import eventually
from tests.integration.server_processes import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SECTION = "## Running each component by hand"
PORTS = ("50051", "50061", "8090")
COMMAND_TIMEOUT_S = 60.0


def readme_code_blocks(section: str) -> list[str]:
    """The fenced code blocks of the README section headed ``section`` (up to the next ``## ``)."""
    text = README.read_text(encoding="utf-8").split(section, 1)[1]
    text = re.split(r"^## ", text, maxsplit=1, flags=re.MULTILINE)[0]
    return re.findall(r"^```\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def commands(block: str) -> list[str]:
    """The block's commands in order: continuation lines joined, comments and blank lines left out."""
    joined = block.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


class Walkthrough:
    """Runs the README's commands one by one in bash, carrying exported variables between them."""

    def __init__(self, tmp_path: Path) -> None:
        self.work = tmp_path / "cartads"
        self.ports = {port: str(free_port()) for port in PORTS}
        bin_dir = str(Path(sys.executable).parent)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARTADS_")}
        self.env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "CARTADS_LOG_LEVEL": "WARNING"}
        self.env["CARTADS_CLOUD"] = f"127.0.0.1:{self.ports['50051']}"
        self.servers: list[asyncio.subprocess.Process] = []
        self.outputs: dict[str, str] = {}

    def local(self, command: str) -> str:
        """The command with this run's directory and ports."""
        command = command.replace("/tmp/cartads", str(self.work))
        for port, mine in self.ports.items():
            command = command.replace(f"127.0.0.1:{port}", f"127.0.0.1:{mine}")
        return command

    async def run(self, command: str) -> None:
        """Run one README command; a server (``... &``) is left running once it is ready."""
        line = self.local(command)
        if line.endswith("&"):
            await self._start(line.removesuffix("&").strip())
            return
        export = re.fullmatch(r"export (\w+)=(.*)", line)
        script = f"printf %s {export.group(2)}" if export else line
        proc = await asyncio.create_subprocess_exec(
            "bash", "-c", script, cwd=ROOT, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT_S)
        assert proc.returncode == 0, f"{command}\nexit {proc.returncode}\n{out.decode()}\n{err.decode()[-4000:]}"
        if export:
            self.env[export.group(1)] = out.decode()
        self.outputs[command] = out.decode()

    async def _start(self, line: str) -> None:
        with (self.work / f"server-{len(self.servers)}.log").open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                "bash", "-c", f"exec {line}", cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        self.servers.append(proc)
        words = shlex.split(line)
        port = words[words.index("--listen") + 1].rpartition(":")[2]
        # The edge is ready when it serves an index; the cloud when it answers.
        service = "cartads.v1.AdService" if words[0] == "cartads-edge" else ""
        await eventually(lambda: self._serving(port, service), timeout_s=30, interval_s=0.1, what=f"{words[0]} ready")

    async def _serving(self, port: str, service: str) -> bool:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            try:
                answer = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=1.0
                )
            except grpc.aio.AioRpcError:
                return False
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

    async def stop(self) -> None:
        for proc in self.servers:
            if proc.returncode is None:
                proc.terminate()
        for proc in self.servers:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    def output_of(self, prefix: str) -> str:
        """The standard output of the one command starting with ``prefix``."""
        (out,) = [out for command, out in self.outputs.items() if command.startswith(prefix)]
        return out


async def _walk(run: Walkthrough) -> None:
    try:
        for command in commands(readme_code_blocks(SECTION)[0]):
            await run.run(command)
    finally:
        await run.stop()


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory: pytest.TempPathFactory) -> Walkthrough:
    """The README's walkthrough, run once in order on a fresh cloud (its own event loop: it is the
    module's, not one test's)."""
    run = Walkthrough(tmp_path_factory.mktemp("walkthrough"))
    asyncio.run(_walk(run))
    return run


def test_walkthrough_campaign_delivers_and_bills_what_carts_reported(walkthrough: Walkthrough) -> None:
    """The by-hand campaign serves well past a handful of impressions, billed exactly as the carts reported."""
    reported = read_reported(walkthrough.work / "reported.json").total()
    cart = walkthrough.output_of("cartads-cart ")
    cart_impressions = int(re.search(r"(\d+) impressions and \d+ clicks reported", cart).group(1))  # type: ignore[union-attr]
    header, *rows = walkthrough.output_of("cartads-admin report spend").splitlines()
    (kombucha,) = [row for row in rows if row.startswith("cmp-1 ")]
    billed_impressions = int(kombucha[header.index("impressions") :].split()[0])  # the table's aligned column
    assert billed_impressions > 6
    assert billed_impressions == reported.impressions + cart_impressions
    assert "reconciled: every reported event is in the cloud" in walkthrough.output_of(
        "cartads-admin billing reconcile"
    )


def test_walkthrough_summaries_count_requests_and_no_fills_by_reason(walkthrough: Walkthrough) -> None:
    """The cart's and the simulator's summaries split requests into filled, no fill by reason, and failed."""
    for prefix in ("cartads-cart ", "cartads-sim --replay"):
        out = walkthrough.output_of(prefix)
        found = re.search(r"(\d+) ad requests: (\d+) filled, (\d+) no fill(?: \(([^)]*)\))?, (\d+) failed", out)
        assert found, out
        requests, filled, no_fill, reasons, failed = found.groups()
        assert int(requests) == int(filled) + int(no_fill) + int(failed)
        assert int(filled) > 0
        by_reason = [int(part.rsplit(" ", 1)[1]) for part in (reasons or "").split(", ") if part]
        assert sum(by_reason) == int(no_fill)


def test_every_trace_the_readme_replays_exists(walkthrough: Walkthrough) -> None:
    """Each --trace file the README names (the cart section's too) is shipped or written by the walkthrough."""
    blocks = re.findall(r"^```\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    traces = {t for block in blocks for t in re.findall(r"--trace (\S+)", block)} - {"trip.jsonl"}  # a placeholder
    assert len(traces) >= 2
    missing = [t for t in sorted(traces) if not (ROOT / walkthrough.local(t)).is_file()]
    assert missing == []
