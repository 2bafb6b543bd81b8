"""Two ``cartads-cloud`` replica processes on the fleet's database, started by their public CLI flags
(thin: start, read memory, stop)."""

from __future__ import annotations

from pathlib import Path

from cartads.bench.edge.servers import free_port
from cartads.bench.soak.processes import Server, _start, _wait_for_port


async def start_replica(dsn: str, replica_id: str, work: Path) -> Server:
    """``cartads-cloud --db DSN --replica-id ID`` on a free loopback port, once it serves."""
    port = free_port()
    argv = [
        "cloud_core.app.cli", "--db", dsn, "--listen", f"127.0.0.1:{port}", "--replica-id", replica_id,
        "--log-level", "WARNING",
    ]  # fmt: skip
    server = _start(argv, work / f"{replica_id}.log", port)
    try:
        await _wait_for_port(server)
    except BaseException:
        server.stop()
        raise
    return server


def address(server: Server) -> str:
    return f"127.0.0.1:{server.port}"


def largest_rss_mb(servers: list[Server]) -> float:
    """The larger resident memory (VmRSS, MiB) of the replicas."""
    return max(server.memory_mb()[0] for server in servers)
