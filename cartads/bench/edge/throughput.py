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
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from cartads.bench.edge.auth_ratio import measure_auth_ratio
from cartads.bench.edge.fixture import add_learned_rates, build_edge_index, build_requests, enroll_bench_carts
from cartads.bench.edge.h2load import grpc_body, h2load_path
from cartads.bench.edge.phases import PhasePlan, drive, plan_phases
from cartads.bench.edge.report import ServerCounts, bench_results, print_report
from cartads.bench.edge.servers import (
    edge_log_counts,
    free_port,
    peak_rss_mb,
    prepare_edge_dirs,
    sample_response,
    start_edge,
    start_floors,
    stop,
)
from cartads.sample.instacart import load_catalog, load_orders
from cartads.v1.ad_service_pb2 import GetAdsRequest
from cartads.v1.index_pb2 import StoreIndex

DESCRIPTION = "GetAds of the real edge vs a bare grpc.aio server, driven by h2load (needs nghttp2-client)"


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
        "--auth-ratio",
        action="store_true",
        help="also measure auth_throughput_ratio: the same edge with cart authentication on vs off",
    )
    parser.add_argument(
        "--open-loop-clients", type=int, default=1, help="h2load connections in the open-loop phase (default 1)"
    )
    parser.add_argument(
        "--open-loop-streams", type=int, default=1, help="h2load streams per connection, open loop (default 1)"
    )


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
    # Every call carries an enrolled cart's credential: the edge authenticates it as in a store.
    enroll_bench_carts(index, requests)
    plan = plan_phases(args, bodies)
    with tempfile.TemporaryDirectory(prefix="cartads-bench-edge-") as tmp:
        work = Path(tmp)
        prepare_edge_dirs(work / "edge", workers, index.SerializeToString())
        body_files = []
        for k, request in enumerate(requests):
            path = work / f"body-{k}.bin"
            path.write_bytes(grpc_body(request))
            body_files.append(path)
        edge_port, floor_port = free_port(), free_port()
        edge_log = work / "edge.log"
        edge = start_edge(
            work / "edge",
            port=edge_port,
            workers=workers,
            log_path=edge_log,
            batch=args.batch_scheduling,
            helper_nice=args.helper_thread_nice,
        )
        # Two floors: the (one bare grpc.aio process; the edge may add workers to catch up)
        # and, when asked, one with as many processes as the edge, which prices the edge's work alone.
        floor_sizes = (
            {"floor": 1}
            | ({"floor_parallel": floor_workers} if floor_workers else {})
            | ({"floor_default_policy": 1} if args.batch_scheduling else {})
        )
        floor_ports = {name: (floor_port if name == "floor" else free_port()) for name in floor_sizes}
        floors: dict[str, list[subprocess.Popen[str]]] = {}
        count_files = {name: [work / f"{name}-count-{i}" for i in range(n)] for name, n in floor_sizes.items()}
        try:
            sample = sample_response(edge_port, requests[0])
            (work / "response.bin").write_bytes(sample.SerializeToString())
            for name in floor_sizes:
                batch = args.batch_scheduling and name != "floor_default_policy"
                floors[name] = start_floors(
                    floor_ports[name],
                    response_file=work / "response.bin",
                    count_files=count_files[name],
                    batch=batch,
                    helper_nice=_floor_helper_nice(name, args),
                )
            pids = {name: [f.pid for f in procs] for name, procs in floors.items()} | {"edge": [edge.pid]}
            totals = drive(
                work, ports=floor_ports | {"edge": edge_port}, pids=pids, body_files=body_files, args=args, plan=plan
            )
            floor_rss = {name: sum(peak_rss_mb(f.pid) for f in procs) for name, procs in floors.items()}
            edge_rss = peak_rss_mb(edge.pid)
        finally:
            for procs in floors.values():
                for floor in procs:
                    stop(floor)
            stop(edge)
        floor_calls = {
            name: sum(int(f.read_text() or 0) for f in files if f.exists()) for name, files in count_files.items()
        }
        edge_ok, edge_not_ok = edge_log_counts(edge_log)
    counts = ServerCounts(
        floor_rss_mb=floor_rss, floor_calls=floor_calls, edge_rss_mb=edge_rss, edge_ok=edge_ok, edge_not_ok=edge_not_ok
    )
    results = bench_results(totals, counts, index=index, args=args, now=now, bodies=bodies, floor_workers=floor_workers)
    auth = _auth_ratio(args, index, requests, plan) if args.auth_ratio else {}
    _report(results, auth, args)
    return 0 if results["errors"] == 0 and not auth.get("auth_errors") else 1


def _report(results: dict[str, object], auth: dict[str, object], args: argparse.Namespace) -> None:
    if auth:
        results["auth"] = auth
    print_report(results, args)
    if auth and not args.json:
        print(
            f"cart authentication: {auth['auth_on_rps']} req/s on vs {auth['auth_off_rps']} off "
            f"(auth_throughput_ratio {auth['auth_throughput_ratio']}, target >= {auth['auth_target']}); "
            f"p99 {auth['auth_on_p99_ms']} ms on, {auth['auth_off_p99_ms']} ms off"
        )


def _auth_ratio(
    args: argparse.Namespace, index: StoreIndex, requests: list[GetAdsRequest], plan: PhasePlan
) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="cartads-bench-auth-") as tmp:
        return measure_auth_ratio(
            Path(tmp),
            index,
            requests,
            phase_s=plan.saturation_phase_s,
            warm_up_s=plan.warm_up_s,
            workers=args.edge_workers,
            clients=args.clients,
            streams=args.streams,
            batch=args.batch_scheduling,
            helper_nice=args.helper_thread_nice,
        )
