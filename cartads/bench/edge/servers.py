"""The servers ``cartads-bench edge`` drives, as processes: the real edge (``cartads-edge``) and the
floors (``floor_server``), started, probed, measured (peak RSS, CPU time of the process tree) and
stopped; and the edge's request log, which says how many calls really succeeded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import grpc

from cartads.bench.edge.fixture import STORE_ID
from cartads.v1 import ad_service_pb2_grpc
from cartads.v1.ad_service_pb2 import GetAdsRequest, GetAdsResponse
from edge_node.app.workers import worker_config
from edge_node.config import EdgeConfig
from edge_node.index.store import IndexStore

GET_ADS_PATH = "/cartads.v1.AdService/GetAds"
_START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _descendants(pid: int) -> list[int]:
    out = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for child in children:
        out.extend(_descendants(int(child)))
    return out


def peak_rss_mb(pid: int) -> float:
    """VmHWM summed over ``pid`` and its descendants, in MiB."""
    total_kb = 0
    for p in _descendants(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pids: Sequence[int]) -> float:
    """CPU time (user + system, every thread) of ``pids`` and their descendants, in seconds."""
    ticks = 0
    for root in pids:
        for p in _descendants(root):
            try:
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])
    return ticks / _CLOCK_TICKS


def _wait_for_lines(proc: subprocess.Popen[str], needle: str, count: int) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + _START_TIMEOUT_S
    seen = 0
    while seen < count:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"process exited before printing {needle!r} (exit {proc.poll()})")
        if needle in line:
            seen += 1
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {needle!r}")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[3])  # the checkout that holds the cartads package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    return env


def prepare_edge_dirs(root: Path, workers: int, index_bytes: bytes) -> None:
    """The data directory of each edge worker under ``root``, holding the index as if synced."""
    from cartads.v1.index_pb2 import StoreIndex

    index = StoreIndex.FromString(index_bytes)
    base = EdgeConfig(store_id=STORE_ID, edge_id="bench-edge", cloud_address="127.0.0.1:9", data_dir=str(root))
    configs = [worker_config(base, i, workers) for i in range(workers)] if workers > 1 else [base]
    for config in configs:
        store = IndexStore.open(config)
        try:
            store.apply(index, index.version)
        finally:
            store.close()


def start_edge(
    root: Path, *, port: int, workers: int, log_path: Path, batch: bool, helper_nice: int, cart_auth: bool = True
) -> subprocess.Popen[str]:
    """``cartads-edge`` with ``workers`` processes serving the index in ``root``, once all of them serve;
    ``cart_auth`` False starts the auth_throughput_ratio baseline (cart credentials unchecked)."""
    cmd = [
        sys.executable,
        "-m",
        "edge_node.app.cli",
        "--store",
        STORE_ID,
        "--edge-id",
        "bench-edge",
        # Nothing listens there: the edge serves its stored index offline, as after a restart.
        "--cloud",
        f"127.0.0.1:{free_port()}",
        "--data-dir",
        str(root),
        "--listen",
        f"127.0.0.1:{port}",
        "--log-json",
        "--workers",
        str(workers),
        "--batch-scheduling" if batch else "--no-batch-scheduling",
        "--helper-thread-nice",
        str(helper_nice),
    ]
    if not cart_auth:
        cmd.append("--no-cart-auth-benchmark-baseline")
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=_env())
    log.close()
    _wait_for_lines(proc, "cartads-edge serving", workers)
    return proc


def start_floors(
    port: int, *, response_file: Path, count_files: Sequence[Path], batch: bool, helper_nice: int
) -> list[subprocess.Popen[str]]:
    """One floor process per count file, all on ``port`` (SO_REUSEPORT when there are several)."""
    procs = []
    for count_file in count_files:
        cmd = [
            sys.executable,
            "-m",
            "cartads.bench.edge.floor_server",
            "--port",
            str(port),
            "--response",
            str(response_file),
            "--count-file",
            str(count_file),
        ]
        if len(count_files) > 1:
            cmd.append("--reuse-port")
        if batch:
            cmd.append("--batch-scheduling")
        if helper_nice:
            cmd += ["--helper-thread-nice", str(helper_nice)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env())
        procs.append(proc)
        _wait_for_lines(proc, "floor serving", 1)
    return procs


def sample_response(port: int, request: GetAdsRequest) -> GetAdsResponse:
    """What the edge on ``port`` answers ``request`` (as another session): the floors' fixed answer."""
    probe = GetAdsRequest()
    probe.CopyFrom(request)
    probe.session_id = "bench-probe"
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        response: GetAdsResponse = ad_service_pb2_grpc.AdServiceStub(channel).GetAds(probe, timeout=10)
    if not response.ads:
        raise RuntimeError(f"the edge served no ad to the probe request: {response}")
    return response


def stop(proc: subprocess.Popen[str]) -> None:
    """Stop a server process: SIGTERM, and SIGKILL when it has not exited within 30 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def edge_log_counts(log_path: Path) -> tuple[int, int]:
    """(GetAds calls logged OK, GetAds calls logged with another code) from the edge's request log."""
    ok = other = 0
    with log_path.open() as log:
        for line in log:
            if GET_ADS_PATH not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("code") == "OK":
                ok += 1
            else:
                other += 1
    return ok, other


__all__ = [
    "GET_ADS_PATH",
    "cpu_s",
    "edge_log_counts",
    "free_port",
    "peak_rss_mb",
    "prepare_edge_dirs",
    "sample_response",
    "start_edge",
    "start_floors",
    "stop",
]
