"""The soak's servers as OS processes: a cloud (SQLite) and the edge under test, with the edge's
/metrics and resident memory read from outside (thin: start, read, stop)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cartads.bench.edge.servers import free_port

_START_TIMEOUT_S = 60.0


@dataclass
class Server:
    """A server process whose output goes to a log file."""

    process: subprocess.Popen[bytes]
    log_path: Path
    port: int

    def memory_mb(self) -> tuple[float, float]:
        """Resident memory now, in MiB: all of it (VmRSS) and the anonymous part (RssAnon: the heap,
        without the LMDB files' pages mapped in); zeros once the process is gone."""
        found = {"VmRSS:": 0.0, "RssAnon:": 0.0}
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                key = line.split(maxsplit=1)[0] if line else ""
                if key in found:
                    found[key] = round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return found["VmRSS:"], found["RssAnon:"]

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 30 s; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def _start(argv: list[str], log_path: Path, port: int) -> Server:
    log = log_path.open("wb")
    try:
        process = subprocess.Popen([sys.executable, "-m", *argv], stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()
    return Server(process, log_path, port)


async def _wait_for_port(server: Server) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _START_TIMEOUT_S
    while loop.time() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.log_path.name}: exited {server.process.returncode} before serving")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        except OSError:
            await asyncio.sleep(0.1)  # nothing to await but the port: poll it
            continue
        writer.close()
        return
    raise RuntimeError(f"{server.log_path.name}: not serving after {_START_TIMEOUT_S} s")


async def start_cloud(work: Path) -> tuple[Server, str]:
    """``cartads-cloud`` on a SQLite file in ``work``, and an admin token made the operator's way."""
    db = work / "cloud.sqlite3"
    port = free_port()
    made = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cloud_core.app.cli", "create-token", "--db", str(db), "--role", "admin",
         "--display-name", "soak operator"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    cloud = _start(["cloud_core.app.cli", "--db", str(db), "--listen", f"127.0.0.1:{port}"], work / "cloud.log", port)
    await _wait_for_port(cloud)
    return cloud, made.stdout.strip()


async def start_edge(
    work: Path, *, store_id: str, cloud_port: int, token_file: Path, edge_id: str = "soak-edge"
) -> tuple[Server, int]:
    """``cartads-edge`` of ``store_id`` with its ops endpoint; the server and the ops port."""
    port, ops_port = free_port(), free_port()
    argv = [
        "edge_node.app.cli", "--store", store_id, "--edge-id", edge_id, "--cloud", f"127.0.0.1:{cloud_port}",
        "--cloud-token-file", str(token_file), "--data-dir", str(work / "edge"), "--listen", f"127.0.0.1:{port}",
        "--ops-listen", f"127.0.0.1:{ops_port}", "--log-json",
    ]  # fmt: skip
    edge = _start(argv, work / "edge.log", port)
    await _wait_for_port(edge)
    return edge, ops_port


def read_metrics(ops_port: int) -> dict[str, float]:
    """The edge's /metrics as name -> value (unlabelled samples only)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{ops_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or "{" in line:
            continue
        name, _, value = line.partition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            continue
    return out
