"""Driving h2load (nghttp2-client) with gRPC requests and reading its results.

A gRPC request body is one 0x00 byte, a 4-byte big-endian length and the message; h2load POSTs
it with the gRPC headers. h2load counts HTTP 200 as success even when gRPC fails (the status is in
trailers), so callers must verify success on the server side. Latencies come from ``--log-file``
(third column: microseconds until the end of the response).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import Message

_FINISHED = re.compile(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s")
_REQUESTS = re.compile(
    r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout"
)


def h2load_path() -> str | None:
    """The h2load executable, None when it is not installed."""
    return shutil.which("h2load")


def grpc_body(message: Message) -> bytes:
    """The HTTP/2 body of a unary gRPC call carrying ``message`` (uncompressed)."""
    raw = message.SerializeToString()
    return b"\x00" + len(raw).to_bytes(4, "big") + raw


def _duration(seconds: float) -> str:
    # h2load takes whole units: "1500ms", not "1.5".
    return f"{max(1, round(seconds * 1000))}ms"


@dataclass(frozen=True)
class LoadResult:
    """One h2load run."""

    duration_s: float
    succeeded: int
    failed: int
    latencies_us: tuple[int, ...]


def run_h2load(
    *,
    url: str,
    body_file: Path,
    log_file: Path,
    duration_s: float,
    clients: int,
    streams: int,
    rps_per_client: int | None = None,
    warm_up_s: float = 0.0,
) -> LoadResult:
    """Run h2load once against ``url`` with the body in ``body_file``; raises if it fails to run."""
    exe = h2load_path()
    if exe is None:
        raise FileNotFoundError("h2load is not installed (Debian package nghttp2-client)")
    log_file.unlink(missing_ok=True)  # h2load appends to its log file
    cmd = [
        exe,
        "-c",
        str(clients),
        "-m",
        str(streams),
        "-t",
        "1",
        "-D",
        _duration(duration_s),
        "-d",
        str(body_file),
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        "--log-file",
        str(log_file),
    ]
    if warm_up_s > 0:
        cmd += ["--warm-up-time", _duration(warm_up_s)]
    if rps_per_client is not None:
        cmd += ["--rps", str(rps_per_client)]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=duration_s + warm_up_s + 60)
    finished = _FINISHED.search(out.stdout)
    counts = _REQUESTS.search(out.stdout)
    if out.returncode != 0 or finished is None or counts is None:
        raise RuntimeError(f"h2load failed ({out.returncode}): {out.stdout[-2000:]} {out.stderr[-2000:]}")
    succeeded = int(counts.group(4))
    # "finished in" includes the warm-up, which the counts do not: take the measured window from
    # h2load's own rate over the counted requests.
    rate = float(finished.group(3))
    value, unit = float(finished.group(1)), finished.group(2)
    duration = succeeded / rate if rate > 0 else (value / 1000 if unit == "ms" else value)
    failed = int(counts.group(5)) + int(counts.group(6)) + int(counts.group(7))
    latencies = []
    if log_file.exists():
        for line in log_file.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and parts[1] == "200":
                latencies.append(int(parts[2]))
    return LoadResult(duration, succeeded, failed, tuple(latencies))


def percentile_ms(latencies_us: list[int], q: float) -> float:
    """The ``q`` quantile (0..1) of the latencies in milliseconds, nearest rank; 0 when empty."""
    if not latencies_us:
        return 0.0
    ordered = sorted(latencies_us)
    rank = min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))
    return ordered[rank] / 1000.0
