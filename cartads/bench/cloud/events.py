"""``cartads-bench events``: durable journal throughput at the edge and ingest throughput in the cloud.

Each number comes with a baseline measured in the same run:

- journal append (in process): ``Journal.append_group`` of the same serialized events against a bare
  LMDB environment opened the same way (sync=True) that only puts the bytes, same batch size;
- ReportEvents (the real edge in its own process, group commit, many concurrent callers) against a
  no-op AdService that answers ReportEvents without journaling (own process, same load);
- UploadEvents (the real cloud in its own process: token check, dedupe, ledger, rollups in SQLite)
  against a no-op EventIngestService (own process, same batches).

The edge half is ``events_journal``, the cloud half ``events_ingest``; both send the impressions of
``events_fixture``. This module runs the servers in their own processes and reports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.synchronize
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import grpc

from cartads.bench.cloud.events_fixture import BENCH_KEY, STORE_ID
from cartads.bench.cloud.events_ingest import (
    EdgeKey,
    db_signing_key,
    register_edge_key,
    seed_cloud,
    seed_line_item,
    upload_batches,
    upload_load,
)
from cartads.bench.cloud.events_journal import bench_journal, report_bodies, report_load
from cartads.event_loop import loop_factory
from cartads.v1 import ad_service_pb2_grpc, event_ingest_pb2_grpc
from cartads.v1.ad_service_pb2 import (
    GetAdsRequest,
    GetAdsResponse,
    GetStoreInfoRequest,
    GetStoreInfoResponse,
    ReportEventsRequest,
    ReportEventsResponse,
)
from cartads.v1.event_ingest_pb2 import UploadEventsRequest, UploadEventsResponse

DESCRIPTION = "durable journal (group commit) and cloud ingest throughput, each against a baseline"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``cartads-bench events``."""
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds) for smoke tests")
    parser.add_argument("--calls", type=int, default=20_000, help="ReportEvents calls per server (default 20000)")
    parser.add_argument("--callers", type=int, default=256, help="concurrent ReportEvents callers, carts (default 256)")
    parser.add_argument("--channels", type=int, default=16, help="client connections (default 16)")
    parser.add_argument(
        "--events-per-call",
        type=int,
        default=10,
        help="events per ReportEvents call, as a cart batches them (default 10)",
    )
    parser.add_argument("--journal-events", type=int, default=100_000, help="events for the raw append test")
    parser.add_argument("--journal-batch", type=int, default=500, help="events per journal transaction")
    parser.add_argument("--ingest-events", type=int, default=60_000, help="events uploaded to the cloud")
    parser.add_argument("--ingest-batch", type=int, default=500, help="events per UploadEvents call")
    parser.add_argument("--ingest-edges", type=int, default=2, help="edges uploading concurrently (default 2)")
    parser.add_argument(
        "--legacy-tokens",
        action="store_true",
        help="upload tokens of the store's shared key (before per-edge keys) instead of registered edge keys",
    )


# ---- servers in their own processes ----


def _serve_in_child(kind: str, root: str, ports: Any, stop: multiprocessing.synchronize.Event) -> None:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(_serve(kind, root, ports, stop))


class _NoOpAds(ad_service_pb2_grpc.AdServiceServicer):
    async def GetAds(self, request: GetAdsRequest, context: Any) -> GetAdsResponse:  # noqa: N802
        return GetAdsResponse()

    async def ReportEvents(self, request: ReportEventsRequest, context: Any) -> ReportEventsResponse:  # noqa: N802
        return ReportEventsResponse(accepted_count=len(request.events))

    async def GetStoreInfo(  # noqa: N802
        self, request: GetStoreInfoRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> GetStoreInfoResponse:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "the no-op edge serves GetAds and ReportEvents only")


class _NoOpIngest(event_ingest_pb2_grpc.EventIngestServiceServicer):
    async def UploadEvents(self, request: UploadEventsRequest, context: Any) -> UploadEventsResponse:  # noqa: N802
        return UploadEventsResponse(acknowledged_seq=request.events[-1].seq if request.events else 0)


async def _serve(kind: str, root: str, ports: Any, stop: multiprocessing.synchronize.Event) -> None:
    from cartads.ops.logs import configure_logging

    configure_logging(level="WARNING", json=True)
    stopper: Callable[[], Coroutine[Any, Any, None]]
    if kind == "edge":
        from edge_node.app.server import start_edge
        from edge_node.config import EdgeConfig

        edge = await start_edge(
            EdgeConfig(
                store_id=STORE_ID,
                edge_id="bench",
                # Nobody listens there: the uploader keeps retrying and the journal only grows.
                cloud_address="127.0.0.1:9",
                data_dir=str(Path(root) / "edge"),
                listen_address="127.0.0.1:0",
                journal_map_size_bytes=1 << 32,
                journal_soft_limit_bytes=1 << 40,
                journal_hard_limit_bytes=1 << 40,
                upload_backoff_initial_s=30.0,
                upload_backoff_max_s=60.0,
            )
        )
        port = edge.port

        async def stop_edge() -> None:
            await edge.stop(grace_s=0.5)

        stopper = stop_edge
    elif kind == "cloud":
        from cloud_core.access.policy import Role
        from cloud_core.app.server import start_cloud
        from cloud_core.config import CloudConfig

        cloud = await start_cloud(CloudConfig(db=str(Path(root) / "cloud.sqlite3"), listen_address="127.0.0.1:0"))
        port = cloud.port
        # The parent reads the operator's and the edges' tokens from here, as they would from token files.
        (Path(root) / "admin.token").write_text(await cloud.mint_token(Role.ADMIN))
        (Path(root) / "edge.token").write_text(await cloud.mint_token(Role.EDGE, store_id=STORE_ID))

        async def stop_cloud() -> None:
            await cloud.stop(grace_s=0.5)

        stopper = stop_cloud
    else:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        ad_service_pb2_grpc.add_AdServiceServicer_to_server(_NoOpAds(), server)
        event_ingest_pb2_grpc.add_EventIngestServiceServicer_to_server(_NoOpIngest(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()

        async def stop_noop() -> None:
            await server.stop(0.5)

        stopper = stop_noop
    ports.put(port)
    await asyncio.to_thread(stop.wait)
    await stopper()


@contextlib.contextmanager
def _child(kind: str, root: Path) -> Any:
    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    stop = ctx.Event()
    proc = ctx.Process(target=_serve_in_child, args=(kind, str(root), ports, stop), daemon=True)
    proc.start()
    try:
        yield int(ports.get(timeout=60))
    finally:
        stop.set()
        proc.join(10)
        if proc.is_alive():
            proc.kill()


# ---- run ----


def _measure(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    results.update(bench_journal(root / "raw", args.journal_events, args.journal_batch))

    with _child("noop", root / "noop") as port:
        floor = asyncio.run(report_load(port, args, report_bodies(args, "floor")))
    with _child("edge", root / "edge") as port:
        real = asyncio.run(report_load(port, args, report_bodies(args, "edge")))
    results["journal_events_per_s"] = real.events / real.seconds
    results["report_events_calls_per_s"] = real.calls / real.seconds
    results["report_events_errors"] = real.errors
    results["noop_report_events_per_s"] = floor.events / floor.seconds
    results["journal_vs_noop_report_events"] = results["journal_events_per_s"] / results["noop_report_events_per_s"]

    with _child("cloud", root / "cloud") as port:
        edge_token = (root / "cloud" / "edge.token").read_text()
        admin_token = (root / "cloud" / "admin.token").read_text()
        asyncio.run(seed_cloud(port, admin_token))
        key = db_signing_key(root / "cloud")
        edge_keys: list[EdgeKey] = []
        if not args.legacy_tokens:
            # As edges do: each registers its own key on its index stream and signs with it; the cloud
            # checks every charge against the terms of the version it sent.
            asyncio.run(seed_line_item(port, admin_token))
            edge_keys = [
                asyncio.run(register_edge_key(port, edge_token, f"edge-{e}")) for e in range(args.ingest_edges)
            ]
        batches = upload_batches(key, args, edge_keys)
        ingest_s, ingest_events, billed = asyncio.run(upload_load(port, batches, edge_token))
    with _child("noop", root / "noop-ingest") as port:
        noop_batches = upload_batches(BENCH_KEY, args)
        noop_s, noop_events, _ = asyncio.run(upload_load(port, noop_batches, edge_token))
    results["ingest_events_per_s"] = ingest_events / ingest_s
    results["ingest_billed_events"] = billed
    results["ingest_events"] = ingest_events
    results["noop_upload_events_per_s"] = noop_events / noop_s
    results["ingest_vs_noop_upload"] = results["ingest_events_per_s"] / results["noop_upload_events_per_s"]
    results["settings"] = {
        "calls": args.calls,
        "callers": args.callers,
        "channels": args.channels,
        "events_per_call": args.events_per_call,
        "journal_batch": args.journal_batch,
        "ingest_batch": args.ingest_batch,
        "ingest_edges": args.ingest_edges,
        "ingest_tokens": "store key (legacy)" if args.legacy_tokens else "per-edge keys, terms checked",
    }
    return results


def run(args: argparse.Namespace) -> int:
    """Measure and print; exit 1 if any ReportEvents call failed or an uploaded event was not billed."""
    if args.quick:
        args.calls = min(args.calls, 3_000)
        args.journal_events = min(args.journal_events, 10_000)
        args.ingest_events = min(args.ingest_events, 6_000)
    with tempfile.TemporaryDirectory(prefix="cartads-bench-events-") as tmp:
        results = _measure(args, Path(tmp))
    if args.json:
        print(json.dumps(results, sort_keys=True))
    else:
        rows = [
            (f"journal append (group of {args.journal_batch}), events/s", results["journal_append_events_per_s"]),
            ("  bare synced LMDB puts, events/s", results["bare_lmdb_events_per_s"]),
            ("  journal commit per 5 events, events/s", results["journal_commit_per_5_events_events_per_s"]),
            ("ReportEvents, journaled events/s", results["journal_events_per_s"]),
            ("  no-op ReportEvents server, events/s", results["noop_report_events_per_s"]),
            ("UploadEvents into SQLite, events/s", results["ingest_events_per_s"]),
            ("  no-op UploadEvents server, events/s", results["noop_upload_events_per_s"]),
        ]
        for name, value in rows:
            print(f"{name:<48} {value:>12,.0f}")
        print(f"{'journal / no-op ReportEvents':<48} {results['journal_vs_noop_report_events']:>12.2f}")
        print(f"{'ingest / no-op UploadEvents':<48} {results['ingest_vs_noop_upload']:>12.2f}")
    ok = results["report_events_errors"] == 0 and results["ingest_billed_events"] == results["ingest_events"]
    return 0 if ok else 1
