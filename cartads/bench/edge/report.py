"""What ``cartads-bench edge`` found: the results from the h2load totals and what the servers
counted themselves (pure), and the table or JSON object they are printed as.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cartads.bench.edge.phases import Totals
from cartads.v1 import index_pb2


@dataclass(frozen=True)
class ServerCounts:
    """What the servers measured and logged themselves, by floor name where there are several."""

    floor_rss_mb: dict[str, float]
    floor_calls: dict[str, int]
    edge_rss_mb: float
    edge_ok: int
    edge_not_ok: int


def bench_results(
    totals: dict[str, dict[str, Totals]],
    counts: ServerCounts,
    *,
    index: index_pb2.StoreIndex,
    args: argparse.Namespace,
    now: datetime,
    bodies: int,
    floor_workers: int,
) -> dict[str, object]:
    """Every figure of the run by name: the object ``--json`` prints."""
    floor_rss, floor_calls, edge_rss = counts.floor_rss_mb, counts.floor_calls, counts.edge_rss_mb
    errors = _errors(totals, floor_calls, counts.edge_ok, counts.edge_not_ok)
    floor_sum = {mode: t.summary() for mode, t in totals["floor"].items()}
    edge_sum = {mode: t.summary() for mode, t in totals["edge"].items()}
    floor_rps = floor_sum["saturation"]["rps"]
    edge_rps = edge_sum["saturation"]["rps"]
    extra_floors = {
        **_extra_floor("floor_parallel", totals, floor_rss, floor_calls, edge_rps),
        **_extra_floor("floor_default_policy", totals, floor_rss, floor_calls, edge_rps),
    }
    return {
        "machine": f"{os.cpu_count()} CPUs, {os.uname().machine}, Python {sys.version.split()[0]}",
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "products": len(index.products),
        "line_items": len(index.line_items),
        "advertisers": len({li.advertiser_id for li in index.line_items}),
        "bodies": bodies,
        "learned_rates": args.learned_rates,
        "edge_workers": args.edge_workers,
        "floor_workers": floor_workers,
        "floor": {**floor_sum, "rss_mb": round(floor_rss["floor"], 1), "server_calls": floor_calls["floor"]},
        "batch_scheduling": args.batch_scheduling,
        "helper_thread_nice": args.helper_thread_nice,
        "floor_helper_thread_nice": args.floor_helper_thread_nice,
        **extra_floors,
        "edge": {**edge_sum, "rss_mb": edge_rss, "server_ok": counts.edge_ok, "server_not_ok": counts.edge_not_ok},
        "floor_rps": floor_rps,
        "edge_rps": edge_rps,
        "throughput_ratio": round(edge_rps / floor_rps, 3) if floor_rps else 0.0,
        "edge_p99_ms_at_500rps": edge_sum["open_loop"]["p99_ms"],
        "edge_rss_mb": edge_rss,
        "errors": errors,
    }


def _errors(totals: dict[str, dict[str, Totals]], floor_calls: dict[str, int], edge_ok: int, edge_not_ok: int) -> int:
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
    totals: dict[str, dict[str, Totals]],
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


def print_report(results: dict[str, object], args: argparse.Namespace) -> None:
    """The results as a table, or as one JSON object with ``--json``."""
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


__all__ = ["ServerCounts", "bench_results", "print_report"]
