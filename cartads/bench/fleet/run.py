"""``cartads-bench fleet``: the run. Seeds the fleet's own PostgreSQL database, starts two replicas and
the simulated edges, times a national change and one-store changes to the edges' ACKs, measures a full
compile, replica memory, and signed ingest through both replicas, then drops the database."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import queue
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from google.protobuf.field_mask_pb2 import FieldMask

from cartads.bench.cloud.signed_events import AdOrigin
from cartads.bench.fleet import compile_ratio, ingest, replicas
from cartads.bench.fleet.edges import EdgePlan, run_fleet_worker
from cartads.bench.fleet.fixture import Fleet, FleetShape, build_fleet
from cartads.bench.fleet.seed import DatabaseUnavailableError, fresh_database, issue_tokens, seed_rows
from cartads.bench.soak.processes import Server
from cartads.ops.logs import configure_logging
from cartads.rpc.bearer import aio_channel
from cartads.sample.instacart import load_catalog
from cartads.v1 import admin_pb2
from cartads.v1.admin_pb2_grpc import AdminServiceStub

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

DESCRIPTION = (
    "a fleet: 1,000 stores with their own catalogs on PostgreSQL, two cloud replicas, one simulated edge per "
    "store; national and one-store change to ACK, replica memory, ingest through both replicas"
)
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
# Stores whose recompiles (full and incremental, same edits) give incremental_vs_full_compile_ratio.
COMPILE_RATIO_STORES = 20
TARGETS = {
    "national_change_to_last_ack_s": "<= 10",
    "one_store_change_to_ack_s": "<= 1",
    "incremental_vs_full_compile_ratio": "<= 0.1",
    "replica_rss_mb": "<= 1000",
    "ingest_events_per_s_postgres": ">= 20000",
    "billed_exactly_once": "true",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``cartads-bench fleet``."""
    parser.add_argument("--stores", type=int, default=1000, help="stores, one simulated edge each (default 1000)")
    parser.add_argument("--products-per-store", type=int, default=1500, help="each store's own catalog size")
    parser.add_argument("--national-line-items", type=int, default=100, help="line items targeting every store")
    parser.add_argument("--local-line-items", type=int, default=2, help="line items of one store, per store")
    parser.add_argument("--workers", type=int, default=4, help="processes the simulated edges run in (default 4)")
    parser.add_argument("--one-store-changes", type=int, default=5, help="one-store changes to time (median)")
    parser.add_argument("--ingest-edges", type=int, default=8, help="edges uploading at once (default 8)")
    parser.add_argument("--ingest-events", type=int, default=60_000, help="distinct events uploaded (default 60000)")
    parser.add_argument("--ingest-batch", type=int, default=500, help="events per UploadEvents call")
    parser.add_argument(
        "--duplicate-every", type=int, default=4, help="every Nth batch also goes to the other replica at once"
    )
    parser.add_argument("--timeout-s", type=float, default=900.0, help="give up waiting for ACKs after this")
    parser.add_argument(
        "--postgres", default=DEFAULT_PG, help="the PostgreSQL server (DSN of any database on it; default %(default)s)"
    )
    parser.add_argument("--quick", action="store_true", help="a small fleet (20 stores) for smoke tests")


def _shape(args: argparse.Namespace) -> tuple[FleetShape, ingest.IngestShape]:
    if args.quick:
        args.stores = min(args.stores, 20)
        args.products_per_store = min(args.products_per_store, 300)
        args.national_line_items = min(args.national_line_items, 20)
        args.workers = min(args.workers, 2)
        args.one_store_changes = min(args.one_store_changes, 2)
        args.ingest_edges = min(args.ingest_edges, 4)
        args.ingest_events = min(args.ingest_events, 4_000)
    for flag in ("stores", "products_per_store", "national_line_items", "local_line_items", "workers", "ingest_batch"):
        if getattr(args, flag) < 1:
            raise SystemExit(f"--{flag.replace('_', '-')} must be at least 1")
    fleet = FleetShape(args.stores, args.products_per_store, args.national_line_items, args.local_line_items)
    upload = ingest.IngestShape(
        edges=min(args.ingest_edges, args.stores),
        events=args.ingest_events,
        batch=args.ingest_batch,
        duplicate_every=args.duplicate_every,
    )
    return fleet, upload


class _Edges:
    """The edge worker processes and their command and result queues."""

    def __init__(self, plans: list[EdgePlan], workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.commands = [context.Queue() for _ in range(workers)]
        self.results: Any = context.Queue()
        self.procs = [
            context.Process(target=run_fleet_worker, args=(plans[w::workers], self.commands[w], self.results))
            for w in range(workers)
        ]
        for proc in self.procs:
            proc.start()

    def send(self, command: dict[str, Any]) -> None:
        for commands in self.commands:
            commands.put(command)

    async def collect(self, timeout_s: float) -> list[dict[str, Any]]:
        reports = []
        for _ in self.commands:
            try:
                report = await asyncio.to_thread(self.results.get, True, timeout_s)
            except queue.Empty:
                raise RuntimeError(f"the simulated edges did not all ACK within {timeout_s} s (--timeout-s)") from None
            if "error" in report:
                raise RuntimeError(f"edge worker failed: {report['error']}")
            reports.append(report)
        return reports

    async def stop(self) -> None:
        for commands in self.commands:
            commands.put(None)
        for proc in self.procs:
            await asyncio.to_thread(proc.join, 15.0)
            if proc.is_alive():
                proc.terminate()


def _versions(reports: list[dict[str, Any]]) -> dict[str, str]:
    return {store: version for r in reports for store, version in r["versions"].items()}


@dataclass
class _Fleet:
    """The running fleet: its replicas, edges and operator channels to both replicas."""

    args: argparse.Namespace
    fleet: Fleet
    dsn: str
    servers: list[Server]
    edges: _Edges
    admins: list[AdminServiceAsyncStub]
    edge_tokens: dict[str, str]
    versions: dict[str, str] = field(default_factory=dict)

    async def timed_change(
        self, admin: AdminServiceAsyncStub, item: admin_pb2.LineItem, bid: int, old: dict[str, str]
    ) -> tuple[float, list[dict[str, Any]]]:
        """Change ``item``'s bid; seconds until the last edge of ``old``'s stores ACKed a new version."""
        self.edges.send({"op": "changed", "from": old})
        started = time.monotonic()
        await admin.UpdateLineItem(
            admin_pb2.UpdateLineItemRequest(
                line_item=admin_pb2.LineItem(line_item_id=item.line_item_id, bid_micros=bid),
                update_mask=FieldMask(paths=["bid_micros"]),
            ),
            timeout=60.0,
        )
        reports = await self.edges.collect(self.args.timeout_s)
        self.versions.update(_versions(reports))
        touched = [r for r in reports if r["versions"]]
        return max(r["last_ack_s"] for r in touched) - started, reports

    def rss_mb(self) -> float:
        return replicas.largest_rss_mb(self.servers)


async def _initial_sync(running: _Fleet) -> dict[str, Any]:
    synced = time.monotonic()
    running.edges.send({"op": "versions"})
    initial = await running.edges.collect(running.args.timeout_s)
    running.versions.update(_versions(initial))
    return {
        "initial_full_sync_s": round(max(r["last_ack_s"] for r in initial) - synced, 3),
        "full_bytes": max(r["payload_bytes"] for r in initial),
    }


async def _national_change(running: _Fleet) -> dict[str, Any]:
    national = running.fleet.national_line_item
    seconds, reports = await running.timed_change(
        running.admins[0], national, national.bid_micros + 1_000, dict(running.versions)
    )
    started = max(r["last_ack_s"] for r in reports) - seconds
    return {
        "national_change_to_last_ack_s": round(seconds, 3),
        "national_change_to_first_ack_s": round(min(r["first_ack_s"] for r in reports) - started, 3),
        "national_change_to_last_receive_s": round(max(r["last_receive_s"] for r in reports) - started, 3),
        "national_change_delta_bytes": max(r["payload_bytes"] for r in reports),
        "national_change_updates": {kind: sum(r["kinds"][kind] for r in reports) for kind in ("full", "delta")},
    }


async def _one_store_changes(running: _Fleet) -> dict[str, Any]:
    times = []
    stores = running.fleet.store_ids
    for k in range(running.args.one_store_changes):
        store_id = stores[(k * 7919 + 1) % len(stores)]
        local = running.fleet.local_line_item(store_id)
        # Alternately through the edge's own replica and through the other one.
        seconds, _ = await running.timed_change(
            running.admins[k % 2], local, local.bid_micros + 1_000 * (k + 1), {store_id: running.versions[store_id]}
        )
        times.append(seconds)
    return {
        "one_store_change_to_ack_s": round(statistics.median(times), 3) if times else None,
        "one_store_change_to_ack_max_s": round(max(times), 3) if times else None,
    }


async def _compile_ratio(running: _Fleet) -> dict[str, Any]:
    # A sample of the fleet's stores, each with its own catalog: recompiling all 1,000 twice in this
    # process would take minutes and measure the same per-store ratio.
    sample = running.fleet.store_ids[:COMPILE_RATIO_STORES]
    ratio = await compile_ratio.measure(running.dsn, sample)
    return {
        "compile_ratio_stores": ratio.stores,
        "full_recompile_s": round(ratio.full_compile_s, 4),
        "incremental_recompile_s": round(ratio.incremental_compile_s, 4),
        "incremental_vs_full_compile_ratio": round(ratio.ratio, 4),
        "one_store_incremental_vs_full_ratio": round(ratio.one_store_ratio, 4),
    }


async def _ingest(running: _Fleet, shape: ingest.IngestShape) -> dict[str, Any]:
    fleet = running.fleet
    # Not the line item the national change edits: its terms stay those of the version each edge holds.
    item = fleet.line_items[1] if len(fleet.line_items) > 1 else fleet.line_items[0]
    campaign = next(c for c in fleet.campaigns if c.campaign_id == item.campaign_id)
    origin = AdOrigin(
        store_id="",
        campaign_id=item.campaign_id,
        line_item_id=item.line_item_id,
        creative_id=item.creative_ids[0],
        advertiser_id=campaign.advertiser_id,
        # Under the bid (the clearing price of a second-price auction), over the reserve.
        price_micros=min(item.bid_micros, 500_000),
    )
    ports = [s.port for s in running.servers]
    uploaders = await ingest.register_edges(ports, fleet.store_ids, running.edge_tokens, shape.edges)
    batches = ingest.build_batches(uploaders, origin, shape)
    result = await ingest.upload(ports, uploaders, batches, shape)
    entries, distinct = await ingest.ledger_counts(running.dsn, [e.store_id for e in uploaders])
    report = await running.admins[1].GetSpendReport(
        admin_pb2.GetSpendReportRequest(advertiser_id=campaign.advertiser_id)
    )
    impressions = sum(c.impressions for c in report.campaigns if c.campaign_id == campaign.campaign_id)
    # The baseline, in the same run: as many new events from as many other edges, all through one replica.
    alone = await ingest.register_edges(ports[:1], fleet.store_ids, running.edge_tokens, shape.edges, prefix="alone")
    one = await ingest.upload(ports[:1], alone, ingest.build_batches(alone, origin, shape), shape)
    return {
        "ingest_one_replica_events_per_s_postgres": round(one.unique_events / one.seconds, 1),
        "ingest_two_vs_one_replica": round(one.seconds / result.seconds * result.unique_events / one.unique_events, 3),
        "ingest_events_per_s_postgres": round(result.unique_events / result.seconds, 1),
        # Duplicates included: what the replicas received per second.
        "ingest_uploaded_events_per_s": round(result.uploaded_events / result.seconds, 1),
        "ingest_edges": len(uploaders),
        "ingest_events": result.unique_events,
        "ingest_uploaded_events": result.uploaded_events,
        "ingest_duplicate_batches": result.duplicate_batches,
        "ingest_billed_count": result.billed,
        "ledger_entries": entries,
        "ledger_distinct_events": distinct,
        "spend_report_impressions": impressions,
        "billed_exactly_once": result.billed == entries == distinct == impressions == result.unique_events
        and one.billed == one.unique_events,
    }


async def _bench(
    args: argparse.Namespace, fleet: Fleet, dsn: str, upload: ingest.IngestShape, work: Path
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    started = time.perf_counter()
    out["seeded_rows"] = await asyncio.to_thread(seed_rows, dsn, fleet)
    admin_token, edge_tokens = await issue_tokens(dsn, fleet.store_ids)
    out["seed_s"] = round(time.perf_counter() - started, 2)
    async with contextlib.AsyncExitStack() as stack:
        servers = list(await asyncio.gather(*(replicas.start_replica(dsn, f"fleet-{n}", work) for n in ("a", "b"))))
        for server in servers:
            stack.callback(server.stop)
        plans = [
            EdgePlan(store_id, f"edge-{store_id}", replicas.address(servers[i % 2]), edge_tokens[store_id])
            for i, store_id in enumerate(fleet.store_ids)
        ]
        edges = _Edges(plans, min(args.workers, len(plans)))
        stack.push_async_callback(edges.stop)
        admins: list[AdminServiceAsyncStub] = []
        for server in servers:
            channel = aio_channel(replicas.address(server), admin_token)
            stack.push_async_callback(channel.close, None)
            admins.append(AdminServiceStub(channel))
        running = _Fleet(args, fleet, dsn, servers, edges, admins, edge_tokens)
        out.update(await _initial_sync(running))
        rss = [running.rss_mb()]
        out.update(await _national_change(running))
        rss.append(running.rss_mb())
        out.update(await _one_store_changes(running))
        out.update(await _compile_ratio(running))
        out.update(await _ingest(running, upload))
        rss.append(running.rss_mb())
        out["replica_rss_mb"] = max(rss)
        out["replica_rss_mb_samples"] = rss
        # Every report holds its worker's NACKs so far: an empty wait answers at once with the totals.
        edges.send({"op": "changed", "from": {}})
        out["nacks"] = sum(r["nacks"] for r in await edges.collect(args.timeout_s))
    return out


def _raise_open_file_limit() -> None:
    # A thousand streams: the replicas (started from here) inherit the limit.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def _work_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cartads-bench-fleet-") as tmp:
        yield Path(tmp)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run the whole bench; the results."""
    fleet_shape, upload = _shape(args)
    _raise_open_file_limit()
    started = time.perf_counter()
    fleet = build_fleet(fleet_shape, load_catalog(), datetime.now(UTC))
    build_s = time.perf_counter() - started
    with _work_dir() as work, fresh_database(args.postgres) as dsn:
        results = asyncio.run(_bench(args, fleet, dsn, upload, work))
    return {
        "stores": fleet_shape.stores,
        "products_per_store": fleet_shape.products_per_store,
        "line_items": len(fleet.line_items),
        "national_line_items": fleet_shape.national_line_items,
        "edges": fleet_shape.stores,
        "replicas": 2,
        "edge_workers": min(args.workers, fleet_shape.stores),
        "build_fleet_s": round(build_s, 2),
        **results,
        "targets": TARGETS,
    }


def run(args: argparse.Namespace) -> int:
    """Measure and print; exit 1 when an event was not billed exactly once or an edge NACKed, 2 without
    PostgreSQL."""
    configure_logging(level="WARNING")
    try:
        results = measure(args)
    except DatabaseUnavailableError as exc:
        print(f"error: {exc}")
        return 2
    if args.json:
        print(json.dumps(results, sort_keys=True))
    else:
        width = max(len(k) for k in results)
        for key, value in results.items():
            print(f"{key:<{width}}  {value}")
    return 0 if results["billed_exactly_once"] and results["nacks"] == 0 else 1
