"""``cartads-bench store-day``: one real edge under a busy store's mixed traffic, and its GetAds tail.

A real cloud (its own process, SQLite) holds the demo's store and advertisers and enrols ``--carts``
carts, each with its own credential; the edge under test runs as its own process (``cartads-edge``,
JSON request log, ops endpoint, uploads to that cloud). ``--load-processes`` load processes
(``load.py``) share the carts out, each cart on its own connection replaying real Instacart trips
(every trigger a trip makes, with its basket) at a shopper's pace compressed ``--speedup`` times,
looking at each answer's ads for a person's 1.2 s and reporting its events. Meanwhile the bench
changes a line item's bid every ``--push-every-s`` (an index push each time). Every GetAds has a
cart's 50 ms deadline.

It prints the GetAds tail over every cart's calls (``getads_p99_ms``, ``getads_p999_ms``),
``deadline_misses_50ms`` (target 0) and how many of them fell while a load process's own loop
stood still (``deadline_misses_during_load_stall``: the load generator's miss, not the edge's),
``requests``, failures by status code, the load processes' loop lag and CPU (a load generator at
its limit would measure itself), and the edge's own loop stalls from its /metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

from cartads.bench.soak.processes import read_metrics
from cartads.bench.soak.store import STORE_ID, LiveStore, live_store, push_index
from cartads.bench.store_day.tally import CallTally, blamed_on_client, getads_figures, merge, percentile_ms
from cartads.ops.logs import configure_logging
from cartads.sample.instacart import load_catalog, load_orders

DESCRIPTION = "one edge under 200 carts' mixed traffic with index pushes and uploads: the GetAds tail"
_LOAD_EXIT_TIMEOUT_S = 120.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``cartads-bench store-day``."""
    parser.add_argument("--carts", type=int, default=200, help="carts shopping at once (default 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they shop (default 60)")
    parser.add_argument(
        "--speedup", type=float, default=5.0, help="a shopper's pace compressed this many times (default 5)"
    )
    parser.add_argument("--push-every-s", type=float, default=10.0, help="an index push this often (default 10)")
    parser.add_argument("--load-processes", type=int, default=2, help="processes the carts are shared out to")
    parser.add_argument("--ramp-s", type=float, default=5.0, help="carts start their first trip within this")
    parser.add_argument(
        "--start-after-s",
        type=float,
        default=20.0,
        help="time the load processes get to load the trips and connect every cart before the run (default 20)",
    )
    parser.add_argument("--seed", type=int, default=11)


def run(args: argparse.Namespace) -> int:
    """Run the store day and print its figures (one JSON object with --json); 1 when a deadline was missed."""
    if args.carts < 1 or args.seconds <= 0 or args.speedup <= 0 or args.load_processes < 1:
        print("store-day: --carts, --seconds, --speedup and --load-processes must be positive", file=sys.stderr)
        return 2
    configure_logging(level="WARNING", json=True)
    results = asyncio.run(_store_day(args))
    if args.json:
        print(json.dumps(results, sort_keys=True))
    else:
        for key in sorted(results):
            print(f"{key:<36} {results[key]}")
    return 0 if results["deadline_misses_50ms"] == 0 else 1


async def _store_day(args: argparse.Namespace) -> dict[str, Any]:
    catalog, orders = load_catalog(), load_orders()
    cart_ids = [f"cart-{n:03d}" for n in range(args.carts)]
    with tempfile.TemporaryDirectory(prefix="cartads-bench-store-day-") as tmp:
        work = Path(tmp)
        async with live_store(work, catalog, orders, cart_ids, edge_name="store-day-edge") as store:
            start_at = time.time() + args.start_after_s
            loads = _start_loads(args, store, work, start_at)
            await asyncio.sleep(max(0.0, start_at - time.time()))
            # The edge's stall count at the start: the enrolments' index pushes before it are not the run's.
            before = await asyncio.to_thread(read_metrics, store.ops_port)
            pushes, push_failures = await _push_until(store, args.push_every_s, start_at + args.seconds)
            outputs = await asyncio.gather(*(asyncio.to_thread(_finish, load) for load in loads))
            edge_metrics = await asyncio.to_thread(read_metrics, store.ops_port)
            edge_metrics["stalls_over_50ms_before"] = before.get("cartads_edge_loop_stalls_over_50ms", 0.0)
            edge_metrics["busy_over_50ms_before"] = before.get("cartads_edge_loop_busy_stalls_over_50ms", 0.0)
            rss_mb = store.edge.memory_mb()[0]
        results = _results(args, outputs, edge_metrics)
        results.update(index_pushes=pushes, index_push_failures=push_failures, edge_rss_mb=rss_mb)
        results["exit_codes"] = store.exit_codes
    return results


def _start_loads(
    args: argparse.Namespace, store: LiveStore, work: Path, start_at: float
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    loads = []
    for n in range(args.load_processes):
        mine = store.credentials[n :: args.load_processes]
        if not mine:
            continue
        spec = {
            "edge_address": f"127.0.0.1:{store.edge.port}",
            "store_id": STORE_ID,
            "carts": [(c.cart_id, c.credential) for c in mine],
            "start_at_unix_s": start_at,
            "seconds": args.seconds,
            "speedup": args.speedup,
            "dwell_s": 1.2,
            "ramp_s": args.ramp_s,
            "seed": args.seed * 1000 + n,
        }
        spec_path = work / f"load-{n}.json"
        spec_path.write_text(json.dumps(spec))
        log_path = work / f"load-{n}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "cartads.bench.store_day.load", str(spec_path)],
                stdout=subprocess.PIPE,
                stderr=log,
            )
        loads.append((process, log_path))
    return loads


def _finish(load: tuple[subprocess.Popen[bytes], Path]) -> dict[str, Any]:
    process, log_path = load
    try:
        out, _ = process.communicate(timeout=_LOAD_EXIT_TIMEOUT_S + 600)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise RuntimeError(f"a load process did not finish; see {log_path}") from None
    if process.returncode != 0:
        raise RuntimeError(f"a load process exited {process.returncode}: {log_path.read_text()[-2000:]}")
    return dict(json.loads(out))


async def _push_until(store: LiveStore, every_s: float, end_at: float) -> tuple[int, int]:
    """An index push every ``every_s`` until ``end_at`` (Unix seconds); pushes made and failed."""
    pushes = failures = 0
    while time.time() + every_s <= end_at:
        await asyncio.sleep(every_s)  # the bench's own schedule: pushes come at a fixed pace
        try:
            await push_index(store.admin, store.plans, pushes + failures)
            pushes += 1
        except grpc.aio.AioRpcError:  # counted and reported; the store day goes on
            failures += 1
    await asyncio.sleep(max(0.0, end_at - time.time()))
    return pushes, failures


def _results(args: argparse.Namespace, outputs: list[dict[str, Any]], edge: dict[str, float]) -> dict[str, Any]:
    getads = merge(CallTally.from_json(o["getads"]) for o in outputs)
    reports = merge(CallTally.from_json(o["reports"]) for o in outputs)
    # Each process's misses are judged against its own stalls: clocks are per process.
    blamed = sum(
        blamed_on_client(CallTally.from_json(o["getads"]).misses, [tuple(s) for s in o["stalls"]]) for o in outputs
    )
    results: dict[str, Any] = {
        "carts": args.carts,
        "seconds": args.seconds,
        "speedup": args.speedup,
        "requests": getads.calls + reports.calls,
        "getads_requests": getads.calls,
        "report_requests": reports.calls,
        "getads_errors_by_code": dict(sorted(getads.failures.items())),
        "report_errors_by_code": dict(sorted(reports.failures.items())),
        "report_p99_ms": percentile_ms(reports.latencies_ms, 0.99),
        "trips_started": sum(o["trips_started"] for o in outputs),
        "trips_finished": sum(o["trips_finished"] for o in outputs),
        "refused_carts": sum(o["refused_carts"] for o in outputs),
        "load_processes": len(outputs),
        "load_loop_lag_max_ms": max(o["loop_lag_max_ms"] for o in outputs),
        "load_loop_busy_lag_max_ms": max(o["loop_busy_lag_max_ms"] for o in outputs),
        "load_loop_lag_p99_ms": max(o["loop_lag_p99_ms"] for o in outputs),
        "load_loop_stalls_over_10ms": sum(o["loop_stalls_over_10ms"] for o in outputs),
        "load_cpu_share_max": max(o["cpu_share"] for o in outputs),
        "edge_loop_stall_max_ms": round(edge.get("cartads_edge_loop_stall_max_ms", -1.0), 1),
        "edge_loop_stalls_over_50ms": int(
            edge.get("cartads_edge_loop_stalls_over_50ms", -1) - edge["stalls_over_50ms_before"]
        ),
        # The same without the loop thread's wait for a CPU: stalls the edge caused itself.
        "edge_loop_busy_stall_max_ms": round(edge.get("cartads_edge_loop_busy_stall_max_ms", -1.0), 1),
        "edge_loop_busy_stalls_over_50ms": int(
            edge.get("cartads_edge_loop_busy_stalls_over_50ms", -1) - edge["busy_over_50ms_before"]
        ),
        "edge_gc_pause_max_ms": round(edge.get("cartads_edge_gc_pause_max_ms", -1.0), 1),
        "edge_journal_depth_at_end": int(edge.get("cartads_edge_journal_depth", -1)),
    }
    results.update(getads_figures(getads, blamed))
    return results
