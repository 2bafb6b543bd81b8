"""``cartads-bench soak``: the edge as its own process under a busy store's compressed day.

A real cloud (its own process, SQLite) holds the demo's store and advertisers; the edge under test
(its own process, JSON request log, ops endpoint) serves ``--carts`` enrolled carts that replay
real orders back to back (a day's shoppers compressed: many carts, no time between trips), while the bench changes
a line item's bid every ``--push-every-s`` (an index push each time) and a probe cart asks for ads
at a steady rate with a cart's 50 ms deadline. The edge's resident memory is sampled throughout;
its event-loop stalls come from its own /metrics (``cartads/ops/loop_watch.py``). At the end the
carts stop, the journal drains, and what the cloud billed is checked against what the carts reported.

Targets (issue "A week in a store"): RSS growth after warm-up at most 10%, the longest loop stall at
most 50 ms, no probe call past its 50 ms deadline, billed equal to reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from cart_client.app.catalog_loader import cart_catalog_from_sample
from cart_client.app.cli import connect
from cart_client.app.runner import TripStats
from cart_client.sim.replay import HUMAN_DWELL_S, replay_trips
from cart_client.sim.simulator import simulate
from cartads.bench.soak.pace import paced
from cartads.bench.soak.probe import ProbeCounts, probe
from cartads.bench.soak.processes import Server, read_metrics
from cartads.bench.soak.store import STORE_ID, LiveStore, live_store, push_index
from cartads.demo.demo import wait_until_billed
from cartads.ops.logs import configure_logging
from cartads.sample.instacart import load_catalog, load_orders

DESCRIPTION = "an edge process under a busy store's compressed day: memory growth, loop stalls, deadline misses"
_RSS_EVERY_S = 10.0
_DRAIN_TIMEOUT_S = 300.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``cartads-bench soak``."""
    parser.add_argument("--minutes", type=float, default=30.0, help="how long the store shops (default 30)")
    parser.add_argument("--warm-up-s", type=float, default=60.0, help="shopping before RSS is first read (default 60)")
    parser.add_argument("--carts", type=int, default=32, help="carts shopping at once (default 32)")
    parser.add_argument(
        "--dwell-ms",
        type=int,
        default=int(HUMAN_DWELL_S * 1000),
        help="how long a shopper looks at ads (default a person's: shorter is invalid traffic, not billed)",
    )
    parser.add_argument(
        "--speedup",
        type=float,
        default=10.0,
        help="each trip at a shopper's pace compressed this many times (default 10: a 5-minute trip in 30 s)",
    )
    parser.add_argument("--push-every-s", type=float, default=30.0, help="an index push this often (default 30)")
    parser.add_argument("--probe-per-s", type=float, default=10.0, help="probe GetAds calls per second (default 10)")
    parser.add_argument("--seed", type=int, default=7)


@dataclass
class _Run:
    """What the soak gathered while it ran."""

    # (seconds since the start, VmRSS MiB, RssAnon MiB)
    rss_mb: list[tuple[float, float, float]] = field(default_factory=list)
    trips: list[TripStats] = field(default_factory=list)
    pushes: int = 0
    push_failures: int = 0


def run(args: argparse.Namespace) -> int:
    """Run the soak and print its figures (one JSON object with --json)."""
    # The carts run in this process: their warnings go to stderr, never into the figures on stdout.
    configure_logging(level="WARNING", json=True)
    results = asyncio.run(_soak(args))
    if args.json:
        print(json.dumps(results, sort_keys=True))
    else:
        for key in sorted(results):
            print(f"{key:<28} {results[key]}")
    met = results["billed_equals_reported"] and results["deadline_misses_50ms"] == 0
    return 0 if met else 1


async def _soak(args: argparse.Namespace) -> dict[str, Any]:
    catalog, orders = load_catalog(), load_orders()
    cart_ids = [*(f"cart-{n:03d}" for n in range(args.carts)), "probe-cart"]
    with tempfile.TemporaryDirectory(prefix="cartads-bench-soak-") as tmp:
        async with live_store(Path(tmp), catalog, orders, cart_ids) as store:
            gathered = _Run()
            stop = asyncio.Event()
            async with await connect(f"127.0.0.1:{store.edge.port}") as probe_channel:
                probe_cart = store.credentials[-1]
                probing = asyncio.create_task(
                    probe(probe_channel, store_id=STORE_ID, cart_id=probe_cart.cart_id,
                          credential=probe_cart.credential, rate_per_s=args.probe_per_s, stop=stop)
                )  # fmt: skip
                shopping = asyncio.create_task(
                    _shop(args, store.edge, credentials=store.credentials[:-1], catalog=catalog, orders=orders,
                          gathered=gathered, stop=stop)
                )  # fmt: skip
                pushing = asyncio.create_task(_push(store, args.push_every_s, gathered, stop))
                sampling = asyncio.create_task(_sample_rss(store.edge, args.warm_up_s, gathered, stop))
                await asyncio.sleep(args.minutes * 60)  # the soak's length is the measurement itself
                stop.set()
                counts = await probing
                await asyncio.gather(shopping, pushing, sampling)
            metrics = await asyncio.to_thread(read_metrics, store.ops_port)
            drained_s = await _drain(store.ops_port)
            billed = await _billed(store.admin, gathered.trips)
    return _results(
        args, gathered, counts=counts, metrics=metrics, billed=billed, drained_s=drained_s, exit_codes=store.exit_codes
    )


async def _shop(
    args: argparse.Namespace,
    edge: Server,
    *,
    credentials: list[Any],
    catalog: Any,
    orders: Any,
    gathered: _Run,
    stop: asyncio.Event,
) -> None:
    """Rounds of trips (fresh ones each round, from the real orders) until ``stop``."""
    round_no = 0
    while not stop.is_set():
        trips = simulate(orders, catalog, count=len(credentials), seed=args.seed + round_no, barcodes=False)
        stats = await replay_trips(
            f"127.0.0.1:{edge.port}",
            # At a shopper's pace (compressed --speedup times): unpaced, a trip's calls come faster than
            # any person could make them and the edge's per-cart call limit refuses them.
            [(f"trip-{round_no}-{trip.order_id}", paced(trip.events, args.speedup)) for trip in trips],
            store_id=STORE_ID,
            carts=len(credentials),
            cart_id_prefix="cart-",
            credentials=credentials,
            catalog=cart_catalog_from_sample(catalog),
            dwell_s=args.dwell_ms / 1000,
        )
        gathered.trips.extend(stats)
        round_no += 1


async def _push(store: LiveStore, every_s: float, gathered: _Run, stop: asyncio.Event) -> None:
    """Change a line item's bid every ``every_s``: each change is an index push to the edge."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
            return
        except TimeoutError:
            pass
        try:
            await push_index(store.admin, store.plans, gathered.pushes)
            gathered.pushes += 1
        except grpc.aio.AioRpcError:  # counted and reported; the soak goes on
            gathered.push_failures += 1


async def _sample_rss(edge: Server, warm_up_s: float, gathered: _Run, stop: asyncio.Event) -> None:
    """The edge's RSS every few seconds after the warm-up, with the time it was read."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(stop.wait(), timeout=warm_up_s)
        return
    except TimeoutError:
        pass
    while not stop.is_set():
        gathered.rss_mb.append((round(time.monotonic() - started, 1), *edge.memory_mb()))
        try:
            await asyncio.wait_for(stop.wait(), timeout=_RSS_EVERY_S)
        except TimeoutError:
            continue


async def _drain(ops_port: int) -> float:
    """Seconds until the edge's journal is empty (the cloud acknowledged every event)."""
    started = time.monotonic()
    while (await asyncio.to_thread(read_metrics, ops_port)).get("cartads_edge_journal_depth", 0.0) > 0:
        if time.monotonic() - started > _DRAIN_TIMEOUT_S:
            break
        await asyncio.sleep(0.5)  # polling another process's gauge: nothing here to await
    return round(time.monotonic() - started, 1)


async def _billed(admin: Any, trips: list[TripStats]) -> dict[str, int]:
    """Impressions and clicks the carts had acknowledged, and what the cloud billed of them."""
    reported = sum(t.impressions_reported + t.clicks_reported for t in trips)
    report = await wait_until_billed(admin, reported, _DRAIN_TIMEOUT_S, store_id=STORE_ID)
    return {"reported": reported, "billed": sum(c.impressions + c.clicks for c in report.campaigns)}


def _results(
    args: argparse.Namespace,
    gathered: _Run,
    *,
    counts: ProbeCounts,
    metrics: dict[str, float],
    billed: dict[str, int],
    drained_s: float,
    exit_codes: Mapping[str, int | None],
) -> dict[str, Any]:
    rss = [mb for _, mb, _ in gathered.rss_mb]
    anon = [mb for _, _, mb in gathered.rss_mb]
    start_mb, end_mb = (rss[0], rss[-1]) if rss else (0.0, 0.0)
    anon_start, anon_end = (anon[0], anon[-1]) if anon else (0.0, 0.0)
    return {
        "minutes": args.minutes,
        "carts": args.carts,
        "trips": len(gathered.trips),
        "cart_getads_calls": sum(t.ad_requests for t in gathered.trips),
        "cart_getads_failed": sum(t.ad_request_errors for t in gathered.trips),
        "events_reported": sum(t.events_reported for t in gathered.trips),
        "index_pushes": gathered.pushes,
        "index_push_failures": gathered.push_failures,
        "rss_start_mb": start_mb,
        "rss_end_mb": end_mb,
        "rss_max_mb": max(rss, default=0.0),
        "rss_growth_pct": round((end_mb - start_mb) / start_mb * 100, 1) if start_mb else 0.0,
        # The heap alone: what grows here is the process's own (the rest is LMDB pages mapped in).
        "rss_anon_start_mb": anon_start,
        "rss_anon_end_mb": anon_end,
        "rss_anon_growth_pct": round((anon_end - anon_start) / anon_start * 100, 1) if anon_start else 0.0,
        "rss_samples": gathered.rss_mb,
        "max_loop_stall_ms": round(metrics.get("cartads_edge_loop_stall_max_ms", -1.0), 1),
        "loop_stalls_over_50ms": int(metrics.get("cartads_edge_loop_stalls_over_50ms", -1)),
        # The same without the loop thread's wait for a CPU (a shared machine): what the edge held its loop for.
        "gc_pause_max_ms": round(metrics.get("cartads_edge_gc_pause_max_ms", -1.0), 1),
        "gc_full_collections": int(metrics.get("cartads_edge_gc_full_collections", -1)),
        "max_loop_busy_stall_ms": round(metrics.get("cartads_edge_loop_busy_stall_max_ms", -1.0), 1),
        "loop_busy_stalls_over_50ms": int(metrics.get("cartads_edge_loop_busy_stalls_over_50ms", -1)),
        "probe_calls": counts.calls,
        "deadline_misses_50ms": counts.deadline_misses,
        "probe_failures": counts.failures,
        "probe_p50_ms": counts.percentile_ms(0.5),
        "probe_p99_ms": counts.percentile_ms(0.99),
        "probe_max_ms": counts.percentile_ms(1.0),
        "drain_s": drained_s,
        "billed_impressions_clicks": billed["billed"],
        "reported_impressions_clicks": billed["reported"],
        "billed_equals_reported": billed["billed"] == billed["reported"],
        "exit_codes": exit_codes,
    }
