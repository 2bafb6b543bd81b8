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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from cart_client.app.catalog_loader import cart_catalog_from_sample
from cart_client.app.cli import connect
from cart_client.app.runner import TripStats
from cart_client.sim.replay import HUMAN_DWELL_S, replay_trips
from cart_client.sim.simulator import simulate
from cartads.bench.soak.probe import ProbeCounts, probe
from cartads.bench.soak.processes import Server, read_metrics, start_cloud, start_edge
from cartads.demo.demo import wait_until_billed
from cartads.demo.scenario import AdvertiserPlan, create_advertisers, create_store, enroll_carts, plan_advertisers
from cartads.ops.logs import configure_logging
from cartads.rpc.bearer import aio_channel
from cartads.sample.instacart import load_catalog, load_orders
from cartads.v1 import admin_pb2
from cartads.v1.admin_pb2_grpc import AdminServiceStub

DESCRIPTION = "an edge process under a busy store's compressed day: memory growth, loop stalls, deadline misses"
STORE_ID = "store-1"
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
    with tempfile.TemporaryDirectory(prefix="cartads-bench-soak-") as tmp:
        work = Path(tmp)
        cloud, admin_token = await start_cloud(work)
        edge: Server | None = None
        try:
            async with aio_channel(f"127.0.0.1:{cloud.port}", admin_token) as channel:
                admin = AdminServiceStub(channel)
                await create_store(admin, STORE_ID, "CartAds Soak Market", "America/Chicago", catalog)
                plans = plan_advertisers(catalog, orders)
                await create_advertisers(admin, plans, STORE_ID, datetime.now(UTC))
                cart_ids = [f"cart-{n:03d}" for n in range(args.carts)]
                credentials = await enroll_carts(admin, STORE_ID, [*cart_ids, "probe-cart"])
                made = await admin.CreateApiToken(
                    admin_pb2.CreateApiTokenRequest(
                        api_token=admin_pb2.ApiToken(
                            role=admin_pb2.API_TOKEN_ROLE_EDGE, store_id=STORE_ID, display_name="soak edge"
                        )
                    )
                )
                token_file = work / "edge.token"
                token_file.write_text(made.secret)
                edge, ops_port = await start_edge(work, store_id=STORE_ID, cloud_port=cloud.port, token_file=token_file)
                gathered = _Run()
                stop = asyncio.Event()
                async with await connect(f"127.0.0.1:{edge.port}") as probe_channel:
                    probe_cart = credentials[-1]
                    probing = asyncio.create_task(
                        probe(probe_channel, store_id=STORE_ID, cart_id=probe_cart.cart_id,
                              credential=probe_cart.credential, rate_per_s=args.probe_per_s, stop=stop)
                    )  # fmt: skip
                    shopping = asyncio.create_task(
                        _shop(
                            args,
                            edge,
                            credentials=credentials[:-1],
                            catalog=catalog,
                            orders=orders,
                            gathered=gathered,
                            stop=stop,
                        )
                    )
                    pushing = asyncio.create_task(_push(admin, plans, args.push_every_s, gathered, stop))
                    sampling = asyncio.create_task(_sample_rss(edge, args.warm_up_s, gathered, stop))
                    await asyncio.sleep(args.minutes * 60)  # the soak's length is the measurement itself
                    stop.set()
                    counts = await probing
                    await asyncio.gather(shopping, pushing, sampling)
                metrics = await asyncio.to_thread(read_metrics, ops_port)
                drained_s = await _drain(ops_port)
                billed = await _billed(admin, gathered.trips)
        finally:
            exit_codes = {"edge": edge.stop() if edge is not None else None, "cloud": cloud.stop()}
    return _results(
        args, gathered, counts=counts, metrics=metrics, billed=billed, drained_s=drained_s, exit_codes=exit_codes
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
        trips = simulate(orders, catalog, count=len(credentials) * 4, seed=args.seed + round_no, barcodes=False)
        stats = await replay_trips(
            f"127.0.0.1:{edge.port}",
            [(f"trip-{round_no}-{trip.order_id}", trip.events) for trip in trips],
            store_id=STORE_ID,
            carts=len(credentials),
            cart_id_prefix="cart-",
            credentials=credentials,
            catalog=cart_catalog_from_sample(catalog),
            dwell_s=args.dwell_ms / 1000,
        )
        gathered.trips.extend(stats)
        round_no += 1


async def _push(admin: Any, plans: list[AdvertiserPlan], every_s: float, gathered: _Run, stop: asyncio.Event) -> None:
    """Change a line item's bid every ``every_s``: each change is an index push to the edge."""
    item = plans[0].line_items[0]
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
            return
        except TimeoutError:
            pass
        bid = item.bid_micros + 1 + gathered.pushes % 997
        request = admin_pb2.UpdateLineItemRequest(
            line_item=admin_pb2.LineItem(line_item_id=item.line_item_id, bid_micros=bid)
        )
        request.update_mask.paths.append("bid_micros")
        try:
            await admin.UpdateLineItem(request, timeout=10)
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
