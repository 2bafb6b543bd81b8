"""``cartads-bench edge``: GetAds throughput, latency and memory of the real edge against a floor.

One run: compiles a realistic store index (the whole Instacart sample catalog, 5,000 line items of
200 advertisers), starts the real edge (``cartads-edge``, own processes) on it and a bare grpc.aio
AdService that returns a fixed response (the floor, own processes), and drives both with h2load:
at saturation, then open-loop at a fixed rate. Requests come from real baskets, one h2load phase
per request body (h2load sends one body per run), phases of floor and edge interleaved so that
drift on a noisy machine hits both. Success is verified on the servers (request log lines of the
edge, the floor's call counters), since h2load counts gRPC failures as successes.

Fairness, and traps this avoids:
- The floor runs as many processes on one SO_REUSEPORT port as the edge has workers (the same
  deployment without the work), registered the same way (GetAds answers pre-serialized bytes), so
  the throughput ratio measures the edge's work per call, not how many processes were started.
  ``--floor-workers 1`` gives the single-process floor for comparison.
- Saturation uses many connections (16 × 4 streams): SO_REUSEPORT spreads connections, not
  requests, and few connections can leave one worker idle.
- The open-loop phase uses one connection with one stream at the full rate. h2load's ``--rps``
  fires each connection's timer in lockstep, and sends up to ``-m`` requests per tick, so N
  connections (or N streams) at rate/N send bursts of N simultaneous requests: queueing that
  h2load itself creates (at 500/s, 5 connections put the floor's own p99 near 3 ms against ~1 ms
  with one; 4 streams on one connection tripled the floor's p50). With one stream a late answer
  delays the next send instead of queueing behind it, which matters only if answers take longer
  than the 2 ms between sends.
- The servers' CPU time per request (utime + stime of their processes during the saturation
  phases) is printed as well: it drifts less than requests/s when other work shares the machine.
- Scheduling policy: the edge serves under SCHED_BATCH by default (edge_node/app/cpu_policy.py), and
  so do both floors above, so the ratio does not credit the edge with an OS setting. A third floor,
  one process under the default policy (the issue's bare server as started plainly), is reported
  as well; ``--no-batch-scheduling`` runs everything under the default policy instead.
- No CPU pinning: on two cores, pinning h2load to one core leaves the two server processes one
  core between them, which is no steadier and measures something else.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from cartads.bench.edge.fixture import STORE_ID, add_learned_rates, build_edge_index, build_requests
from cartads.bench.edge.h2load import LoadResult, grpc_body, h2load_path, percentile_ms, run_h2load
from cartads.sample.instacart import load_catalog, load_orders
from cartads.v1 import ad_service_pb2_grpc
from cartads.v1.ad_service_pb2 import GetAdsRequest, GetAdsResponse
from edge_node.app.workers import worker_config
from edge_node.config import EdgeConfig
from edge_node.index.store import IndexStore

DESCRIPTION = "GetAds of the real edge vs a bare grpc.aio server, driven by h2load (needs nghttp2-client)"
_URL_PATH = "/cartads.v1.AdService/GetAds"
_START_TIMEOUT_S = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``cartads-bench edge``."""
    parser.add_argument("--quick", action="store_true", help="a short run (about 20 s): 2 bodies, 1 s phases")
    parser.add_argument("--line-items", type=int, default=5000, help="line items in the index (default 5000)")
    parser.add_argument("--bodies", type=int, default=8, help="distinct requests from real baskets (default 8)")
    parser.add_argument("--edge-workers", type=int, default=2, help="edge worker processes (default 2)")
    parser.add_argument("--saturation-s", type=float, default=16.0, help="seconds of saturation load per server")
    parser.add_argument("--open-loop-s", type=float, default=16.0, help="seconds of open-loop load per server")
    parser.add_argument("--rate", type=int, default=500, help="open-loop requests per second (default 500)")
    parser.add_argument("--clients", type=int, default=16, help="h2load connections at saturation (default 16)")
    parser.add_argument("--streams", type=int, default=4, help="h2load streams per connection (default 4)")
    parser.add_argument("--max-ads", type=int, default=2, help="ads asked for per request (default 2)")
    parser.add_argument(
        "--learned-rates",
        action="store_true",
        help="every line item carries learned rates per trigger, so the edge holds one ranking per trigger",
    )
    parser.add_argument(
        "--floor-workers",
        type=int,
        default=None,
        help="processes of the second, equally parallel floor (default: as --edge-workers; 0 skips it)",
    )
    parser.add_argument(
        "--batch-scheduling",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="edge and floors under SCHED_BATCH, plus a default-policy floor for comparison (default on)",
    )
    parser.add_argument(
        "--helper-thread-nice",
        type=int,
        default=10,
        help="nice value of gRPC's helper threads in the edge and the parallel floor (default 10, as cartads-edge)",
    )
    parser.add_argument(
        "--floor-helper-thread-nice",
        type=int,
        default=0,
        help="the same for the one-process floor (default 0: one process gains nothing from it)",
    )
    parser.add_argument(
        "--open-loop-clients", type=int, default=1, help="h2load connections in the open-loop phase (default 1)"
    )
    parser.add_argument(
        "--open-loop-streams", type=int, default=1, help="h2load streams per connection, open loop (default 1)"
    )


@dataclass
class _Totals:
    duration_s: float = 0.0
    succeeded: int = 0
    failed: int = 0
    latencies_us: list[int] = field(default_factory=list)
    # CPU seconds the server's processes used during these phases.
    cpu_s: float = 0.0

    def add(self, result: LoadResult) -> None:
        self.duration_s += result.duration_s
        self.succeeded += result.succeeded
        self.failed += result.failed
        self.latencies_us.extend(result.latencies_us)

    @property
    def rps(self) -> float:
        return self.succeeded / self.duration_s if self.duration_s > 0 else 0.0

    def summary(self) -> dict[str, float]:
        lat = self.latencies_us
        return {
            "rps": round(self.rps, 1),
            "p50_ms": percentile_ms(lat, 0.5),
            "p99_ms": percentile_ms(lat, 0.99),
            "p999_ms": percentile_ms(lat, 0.999),
            "requests": self.succeeded,
            "h2load_failed": self.failed,
            "cpu_us_per_request": round(self.cpu_s / self.succeeded * 1e6, 1) if self.succeeded else 0.0,
        }


def _free_port() -> int:
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


def _peak_rss_mb(pid: int) -> float:
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


def _cpu_s(pids: Sequence[int]) -> float:
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


def _prepare_edge_dirs(root: Path, workers: int, index_bytes: bytes) -> None:
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


def _start_edge(  # noqa: PLR0917 - private, one call site
    root: Path, port: int, workers: int, log_path: Path, batch: bool, helper_nice: int
) -> subprocess.Popen[str]:
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
        f"127.0.0.1:{_free_port()}",
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
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=_env())
    log.close()
    _wait_for_lines(proc, "cartads-edge serving", workers)
    return proc


def _start_floors(
    port: int, response_file: Path, count_files: Sequence[Path], batch: bool, helper_nice: int
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


def _sample_response(port: int, request: GetAdsRequest) -> GetAdsResponse:
    probe = GetAdsRequest()
    probe.CopyFrom(request)
    probe.session_id = "bench-probe"
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        response: GetAdsResponse = ad_service_pb2_grpc.AdServiceStub(channel).GetAds(probe, timeout=10)
    if not response.ads:
        raise RuntimeError(f"the edge served no ad to the probe request: {response}")
    return response


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _edge_log_counts(log_path: Path) -> tuple[int, int]:
    """(GetAds calls logged OK, GetAds calls logged with another code) from the edge's request log."""
    ok = other = 0
    with log_path.open() as log:
        for line in log:
            if _URL_PATH not in line:
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


@dataclass(frozen=True)
class _Plan:
    saturation_phase_s: float
    open_loop_phase_s: float
    warm_up_s: float


def _plan(args: argparse.Namespace, bodies: int) -> _Plan:
    if args.quick:
        return _Plan(saturation_phase_s=1.0, open_loop_phase_s=1.0, warm_up_s=0.2)
    return _Plan(args.saturation_s / bodies, args.open_loop_s / bodies, warm_up_s=0.5)


def _drive(  # noqa: PLR0917 - private, one call site
    work: Path,
    ports: dict[str, int],
    pids: dict[str, list[int]],
    body_files: Sequence[Path],
    args: argparse.Namespace,
    plan: _Plan,
) -> dict[str, dict[str, _Totals]]:
    totals = {name: {"saturation": _Totals(), "open_loop": _Totals()} for name in ports}
    clients_open = args.open_loop_clients
    for body in body_files:
        for name, port in ports.items():  # interleaved: drift hits floor and edge alike
            cpu_before = _cpu_s(pids[name])
            result = run_h2load(
                url=f"http://127.0.0.1:{port}{_URL_PATH}",
                body_file=body,
                log_file=work / f"h2load-{name}.log",
                duration_s=plan.saturation_phase_s,
                clients=args.clients,
                streams=args.streams,
                warm_up_s=plan.warm_up_s,
            )
            # The warm-up's CPU is in this figure too; its requests are not: scaled to the measured window.
            cpu_s = _cpu_s(pids[name]) - cpu_before
            window = result.duration_s / (result.duration_s + plan.warm_up_s) if result.duration_s > 0 else 0.0
            totals[name]["saturation"].cpu_s += cpu_s * window
            totals[name]["saturation"].add(result)
    for body in body_files:
        for name, port in ports.items():
            result = run_h2load(
                url=f"http://127.0.0.1:{port}{_URL_PATH}",
                body_file=body,
                log_file=work / f"h2load-{name}.log",
                duration_s=plan.open_loop_phase_s,
                clients=clients_open,
                streams=args.open_loop_streams,
                rps_per_client=max(1, args.rate // clients_open),
                warm_up_s=plan.warm_up_s,
            )
            totals[name]["open_loop"].add(result)
    return totals


def _report(results: dict[str, object], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(results, sort_keys=True))
        return
    floor, edge = results["floor"], results["edge"]
    assert isinstance(floor, dict)
    assert isinstance(edge, dict)
    print(f"cartads-bench edge  ({results['machine']}, {results['date']})")
    print(
        f"index: {results['products']} products, {results['line_items']} line items, "
        f"{results['advertisers']} advertisers; {results['bodies']} request bodies from real baskets; "
        f"edge workers: {results['edge_workers']}"
    )
    header = f"{'server':<7} {'mode':<22} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'requests':>9}"
    print(header)
    print("-" * len(header))
    rows: list[tuple[str, dict[str, Any]]] = [("floor", floor)]
    parallel = results.get("floor_parallel")
    if isinstance(parallel, dict):
        rows.append((f"floor×{results['floor_workers']}", parallel))
    plain = results.get("floor_default_policy")
    if isinstance(plain, dict):
        rows.append(("floor-d", plain))
    rows.append(("edge", edge))
    for name, data in rows:
        for mode, label in (("saturation", "saturation"), ("open_loop", f"open loop {args.rate}/s")):
            s = data[mode]
            print(
                f"{name:<7} {label:<22} {s['rps']:>9.0f} {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f} "
                f"{s['p999_ms']:>9.2f} {s['requests']:>9}"
            )
    print(f"peak RSS: floor {floor['rss_mb']} MB, edge {edge['rss_mb']} MB (VmHWM summed over its processes)")
    print(
        "server CPU per request at saturation: "
        + ", ".join(f"{name} {data['saturation']['cpu_us_per_request']:.0f} µs" for name, data in rows)
    )
    print(
        f"errors: {results['errors']}   throughput ratio edge/floor: {results['throughput_ratio']:.3f}   "
        f"edge p99 at {args.rate}/s: {results['edge_p99_ms_at_500rps']:.2f} ms"
    )
    if "throughput_ratio_vs_floor_parallel" in results:
        print(
            f"edge/floor×{results['floor_workers']} (the same number of processes): "
            f"{results['throughput_ratio_vs_floor_parallel']:.3f}"
        )
    if "throughput_ratio_vs_floor_default_policy" in results:
        print(
            "edge/floor-d (one process under the default CPU policy, not SCHED_BATCH): "
            f"{results['throughput_ratio_vs_floor_default_policy']:.3f}"
        )


def _errors(totals: dict[str, dict[str, _Totals]], floor_calls: dict[str, int], edge_ok: int, edge_not_ok: int) -> int:
    """h2load's "succeeded" includes gRPC failures: a shortfall of server-side successes is an error."""
    edge_done = sum(t.succeeded for t in totals["edge"].values())
    return (
        sum(t.failed for by_mode in totals.values() for t in by_mode.values())
        + edge_not_ok
        + max(0, edge_done - edge_ok)
        + sum(max(0, sum(t.succeeded for t in totals[name].values()) - calls) for name, calls in floor_calls.items())
    )


def _extra_floor(
    name: str,
    totals: dict[str, dict[str, _Totals]],
    floor_rss: dict[str, float],
    floor_calls: dict[str, int],
    edge_rps: float,
) -> dict[str, object]:
    """An extra floor's figures (``name``: floor_parallel, floor_default_policy) and the edge's ratio
    to it; nothing when it did not run."""
    if name not in totals:
        return {}
    summary = {mode: t.summary() for mode, t in totals[name].items()}
    rps = summary["saturation"]["rps"]
    return {
        name: {**summary, "rss_mb": round(floor_rss[name], 1), "server_calls": floor_calls[name]},
        f"{name}_rps": rps,
        f"throughput_ratio_vs_{name}": round(edge_rps / rps, 3) if rps else 0.0,
    }


def _floor_helper_nice(name: str, args: argparse.Namespace) -> int:
    # The parallel floor is the edge's deployment without the work: its helpers are niced too.
    # One process gains nothing from it (its serving thread has a core to itself; measured 0 to -10%).
    if name == "floor_parallel":
        return int(args.helper_thread_nice)
    return int(args.floor_helper_thread_nice) if name == "floor" else 0


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print its table (or one JSON object with --json)."""
    if h2load_path() is None:
        print("cartads-bench edge needs h2load: apt-get install nghttp2-client", file=sys.stderr)
        return 2
    bodies = 2 if args.quick else args.bodies
    workers = args.edge_workers
    floor_workers = args.floor_workers or workers
    catalog = load_catalog()
    now = datetime.now(UTC)
    index = build_edge_index(args.line_items, now, catalog)
    if args.learned_rates:
        add_learned_rates(index)
    requests = build_requests(load_orders(), catalog, bodies, args.max_ads)
    plan = _plan(args, bodies)
    with tempfile.TemporaryDirectory(prefix="cartads-bench-edge-") as tmp:
        work = Path(tmp)
        _prepare_edge_dirs(work / "edge", workers, index.SerializeToString())
        body_files = []
        for k, request in enumerate(requests):
            path = work / f"body-{k}.bin"
            path.write_bytes(grpc_body(request))
            body_files.append(path)
        edge_port, floor_port = _free_port(), _free_port()
        edge_log = work / "edge.log"
        edge = _start_edge(work / "edge", edge_port, workers, edge_log, args.batch_scheduling, args.helper_thread_nice)
        # Two floors: the (one bare grpc.aio process; the edge may add workers to catch up)
        # and, when asked, one with as many processes as the edge, which prices the edge's work alone.
        floor_sizes = (
            {"floor": 1}
            | ({"floor_parallel": floor_workers} if floor_workers else {})
            | ({"floor_default_policy": 1} if args.batch_scheduling else {})
        )
        floor_ports = {name: (floor_port if name == "floor" else _free_port()) for name in floor_sizes}
        floors: dict[str, list[subprocess.Popen[str]]] = {}
        count_files = {name: [work / f"{name}-count-{i}" for i in range(n)] for name, n in floor_sizes.items()}
        try:
            sample = _sample_response(edge_port, requests[0])
            (work / "response.bin").write_bytes(sample.SerializeToString())
            for name in floor_sizes:
                batch = args.batch_scheduling and name != "floor_default_policy"
                floors[name] = _start_floors(
                    floor_ports[name], work / "response.bin", count_files[name], batch, _floor_helper_nice(name, args)
                )
            pids = {name: [f.pid for f in procs] for name, procs in floors.items()} | {"edge": [edge.pid]}
            totals = _drive(work, floor_ports | {"edge": edge_port}, pids, body_files, args, plan)
            floor_rss = {name: sum(_peak_rss_mb(f.pid) for f in procs) for name, procs in floors.items()}
            edge_rss = _peak_rss_mb(edge.pid)
        finally:
            for procs in floors.values():
                for floor in procs:
                    _stop(floor)
            _stop(edge)
        floor_calls = {
            name: sum(int(f.read_text() or 0) for f in files if f.exists()) for name, files in count_files.items()
        }
        edge_ok, edge_not_ok = _edge_log_counts(edge_log)
    errors = _errors(totals, floor_calls, edge_ok, edge_not_ok)
    floor_sum = {mode: t.summary() for mode, t in totals["floor"].items()}
    edge_sum = {mode: t.summary() for mode, t in totals["edge"].items()}
    floor_rps = floor_sum["saturation"]["rps"]
    edge_rps = edge_sum["saturation"]["rps"]
    extra_floors = {
        **_extra_floor("floor_parallel", totals, floor_rss, floor_calls, edge_rps),
        **_extra_floor("floor_default_policy", totals, floor_rss, floor_calls, edge_rps),
    }
    results: dict[str, object] = {
        "machine": f"{os.cpu_count()} CPUs, {os.uname().machine}, Python {sys.version.split()[0]}",
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "products": len(index.products),
        "line_items": len(index.line_items),
        "advertisers": len({li.advertiser_id for li in index.line_items}),
        "bodies": bodies,
        "learned_rates": args.learned_rates,
        "edge_workers": workers,
        "floor_workers": floor_workers,
        "floor": {**floor_sum, "rss_mb": round(floor_rss["floor"], 1), "server_calls": floor_calls["floor"]},
        "batch_scheduling": args.batch_scheduling,
        "helper_thread_nice": args.helper_thread_nice,
        "floor_helper_thread_nice": args.floor_helper_thread_nice,
        **extra_floors,
        "edge": {**edge_sum, "rss_mb": edge_rss, "server_ok": edge_ok, "server_not_ok": edge_not_ok},
        "floor_rps": floor_rps,
        "edge_rps": edge_rps,
        "throughput_ratio": round(edge_rps / floor_rps, 3) if floor_rps else 0.0,
        "edge_p99_ms_at_500rps": edge_sum["open_loop"]["p99_ms"],
        "edge_rss_mb": edge_rss,
        "errors": errors,
    }
    _report(results, args)
    return 0 if errors == 0 else 1
