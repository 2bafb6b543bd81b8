"""``cartads-bench events``: durable journal throughput at the edge and ingest throughput in the cloud.

Each number comes with a baseline measured in the same run:

- journal append (in process): ``Journal.append_group`` of the same serialized events against a bare
  LMDB environment opened the same way (sync=True) that only puts the bytes, same batch size;
- ReportEvents (the real edge in its own process, group commit, many concurrent callers) against a
  no-op AdService that answers ReportEvents without journaling (own process, same load);
- UploadEvents (the real cloud in its own process: token check, dedupe, ledger, rollups in SQLite)
  against a no-op EventIngestService (own process, same batches).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.synchronize
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import lmdb

from cartads.bench.cloud.signed_events import AdOrigin, signed_impressions
from cartads.event_loop import loop_factory
from cartads.rpc.bearer import aio_channel
from cartads.v1 import ad_service_pb2_grpc, admin_pb2_grpc, event_ingest_pb2_grpc
from cartads.v1.ad_service_pb2 import GetAdsRequest, GetAdsResponse, ReportEventsRequest, ReportEventsResponse
from cartads.v1.common_pb2 import CartEvent
from cartads.v1.event_ingest_pb2 import JournaledEvent, UploadEventsRequest, UploadEventsResponse

DESCRIPTION = "durable journal (group commit) and cloud ingest throughput, each against a baseline"
STORE_ID = "bench-store"
_KEY = b"bench-signing-key-0123456789abcdef"
_OPTIONS = [("grpc.so_reuseport", 0), ("grpc.use_local_subchannel_pool", 1)]


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


# ---- events ----


_ORIGIN = AdOrigin(
    store_id=STORE_ID,
    campaign_id="bench-campaign",
    line_item_id="bench-li",
    creative_id="bench-cr",
    advertiser_id="bench-adv",
    price_micros=2_000_000,
)


def _events(prefix: str, count: int, key: bytes = _KEY) -> list[CartEvent]:
    """Impressions with valid tokens (signed with ``key``), each its own decision."""
    return signed_impressions(_ORIGIN, key, prefix, count, issue_time_unix_ms=int(time.time() * 1000))


# ---- raw journal append ----


def _bench_journal(root: Path, events: int, batch: int) -> dict[str, float]:
    """Group appends of ``batch`` events to the real journal vs bare synced LMDB puts of the same bytes."""
    from edge_node.config import EdgeConfig
    from edge_node.events.journal import Journal, JournalWrite

    sample = _events("j", batch)
    blobs = [JournaledEvent(seq=i, event=e).SerializeToString() for i, e in enumerate(sample)]
    rounds = max(1, events // batch)

    root.mkdir(parents=True, exist_ok=True)
    bare = lmdb.open(str(root / "bare"), map_size=1 << 32, sync=True, metasync=True)
    start = time.perf_counter()
    seq = 0
    for _ in range(rounds):
        with bare.begin(write=True) as txn:
            for blob in blobs:
                seq += 1
                txn.put(seq.to_bytes(8, "big"), blob)
    bare_s = time.perf_counter() - start
    bare.close()

    config = EdgeConfig(
        store_id=STORE_ID,
        edge_id="bench",
        cloud_address="127.0.0.1:1",
        data_dir=str(root / "edge"),
        journal_map_size_bytes=1 << 32,
        journal_hard_limit_events=10**9,
    )
    journal = Journal.open(config)
    writes = []
    for r in range(rounds):
        copies = []
        for e in sample:
            c = CartEvent()
            c.CopyFrom(e)
            c.event_id = f"{e.event_id}-{r}"
            copies.append(c)
        writes.append(JournalWrite(copies, 0))
    start = time.perf_counter()
    for write in writes:
        journal.append_group([write])
    journal_s = time.perf_counter() - start
    # Without group commit: one durable transaction per 5-event call.
    small = [JournalWrite(w.events[i : i + 5], 0) for w in writes[: max(1, rounds // 20)] for i in range(0, batch, 5)]
    for w in small:
        for e in w.events:
            e.event_id += "-single"
    start = time.perf_counter()
    for write in small:
        journal.append_group([write])
    single_s = time.perf_counter() - start
    journal.close()
    total = rounds * batch
    return {
        "journal_append_events_per_s": total / journal_s,
        "bare_lmdb_events_per_s": total / bare_s,
        "journal_append_vs_bare_lmdb": bare_s / journal_s,
        "journal_commit_per_5_events_events_per_s": sum(len(w.events) for w in small) / single_s,
    }


# ---- servers in their own processes ----


def _serve_in_child(kind: str, root: str, ports: Any, stop: multiprocessing.synchronize.Event) -> None:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(_serve(kind, root, ports, stop))


class _NoOpAds(ad_service_pb2_grpc.AdServiceServicer):
    async def GetAds(self, request: GetAdsRequest, context: Any) -> GetAdsResponse:  # noqa: N802
        return GetAdsResponse()

    async def ReportEvents(self, request: ReportEventsRequest, context: Any) -> ReportEventsResponse:  # noqa: N802
        return ReportEventsResponse(accepted_count=len(request.events))


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
                journal_soft_limit_events=10**9,
                journal_hard_limit_events=10**9,
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


# ---- load ----


@dataclass
class _Load:
    calls: int = 0
    events: int = 0
    errors: int = 0
    seconds: float = 0.0


def _report_bodies(args: argparse.Namespace, tag: str) -> list[bytes]:
    """Serialized ReportEvents requests, built before the clock starts; every event id is new."""
    template = _events(tag, args.events_per_call)
    request = ReportEventsRequest(store_id=STORE_ID, cart_id="cart-1", events=template)
    bodies = []
    for call in range(args.calls):
        for event, original in zip(request.events, template, strict=True):
            event.event_id = f"{original.event_id}-{call}"
        bodies.append(request.SerializeToString())
    return bodies


async def _report_load(port: int, args: argparse.Namespace, bodies: list[bytes]) -> _Load:
    """Callers send the prepared requests as fast as answers come back; raw bytes keep the client cheap."""
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=_OPTIONS) for _ in range(args.channels)]
    # Raw bytes in and out: no client-side (de)serialization in the measured loop.
    calls = [c.unary_unary("/cartads.v1.AdService/ReportEvents", None, None) for c in channels]
    load = _Load()
    queue = iter(bodies)

    async def caller(n: int) -> None:
        call = calls[n % len(calls)]
        for body in queue:
            try:
                await call(body)
            except grpc.aio.AioRpcError:
                load.errors += 1
                continue
            load.calls += 1
            load.events += args.events_per_call

    try:
        for call in calls:  # connect first: connection setup is not what is measured
            with contextlib.suppress(grpc.aio.AioRpcError):
                await call(b"")
        start = time.perf_counter()
        await asyncio.gather(*(caller(n) for n in range(args.callers)))
        load.seconds = time.perf_counter() - start
    finally:
        for channel in channels:
            await channel.close(None)
    return load


async def _seed_cloud(port: int, admin_token: str) -> None:
    """The bench store and campaign."""
    from datetime import UTC, datetime, timedelta

    from cartads.time_units import dt_to_ts
    from cartads.v1 import admin_pb2

    async with aio_channel(f"127.0.0.1:{port}", admin_token) as channel:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        await admin.CreateStore(
            admin_pb2.CreateStoreRequest(
                store_id=STORE_ID, store=admin_pb2.Store(display_name="Bench", time_zone="UTC")
            )
        )
        await admin.CreateAdvertiser(
            admin_pb2.CreateAdvertiserRequest(
                advertiser_id="bench-adv", advertiser=admin_pb2.Advertiser(display_name="B")
            )
        )
        now = datetime.now(UTC)
        await admin.CreateCampaign(
            admin_pb2.CreateCampaignRequest(
                campaign=admin_pb2.Campaign(
                    campaign_id="bench-campaign",
                    advertiser_id="bench-adv",
                    display_name="Bench",
                    budget_micros=10**15,
                    start_time=dt_to_ts(now - timedelta(days=1)),
                    end_time=dt_to_ts(now + timedelta(days=30)),
                    state=admin_pb2.SERVING_STATE_ACTIVE,
                )
            )
        )


def _db_signing_key(root: Path) -> bytes:
    import sqlite3

    with contextlib.closing(sqlite3.connect(root / "cloud.sqlite3")) as conn:
        row = conn.execute("SELECT signing_key FROM stores WHERE store_id = ?", (STORE_ID,)).fetchone()
    return bytes(row[0])


def _upload_batches(key: bytes, args: argparse.Namespace) -> list[list[UploadEventsRequest]]:
    """Per edge, its batches of journaled events (built before the clock starts)."""
    per_edge = max(args.ingest_batch, args.ingest_events // args.ingest_edges)
    out = []
    for edge in range(args.ingest_edges):
        events = _events(f"u{edge}", per_edge, key)
        batches = []
        for start in range(0, per_edge, args.ingest_batch):
            chunk = events[start : start + args.ingest_batch]
            batches.append(
                UploadEventsRequest(
                    store_id=STORE_ID,
                    edge_id=f"edge-{edge}",
                    events=[
                        JournaledEvent(seq=start + i + 1, event=e, receive_time=_now_ts()) for i, e in enumerate(chunk)
                    ],
                )
            )
        out.append(batches)
    return out


def _now_ts() -> Any:
    from google.protobuf.timestamp_pb2 import Timestamp

    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


async def _upload_load(
    port: int, batches: Sequence[Sequence[UploadEventsRequest]], token: str
) -> tuple[float, int, int]:
    """Each edge uploads its batches one after another, as the uploader does; (seconds, events, billed)."""
    # Both the real cloud and the no-op server get the edge token, so the ratio compares like with like.
    channels = [aio_channel(f"127.0.0.1:{port}", token, options=_OPTIONS) for _ in batches]
    billed = 0

    async def edge(channel: grpc.aio.Channel, mine: Sequence[UploadEventsRequest]) -> None:
        nonlocal billed
        stub = event_ingest_pb2_grpc.EventIngestServiceStub(channel)
        for request in mine:
            response = await stub.UploadEvents(request, timeout=60)
            billed += response.billed_count

    try:
        start = time.perf_counter()
        await asyncio.gather(*(edge(c, m) for c, m in zip(channels, batches, strict=True)))
        seconds = time.perf_counter() - start
    finally:
        for channel in channels:
            await channel.close(None)
    return seconds, sum(len(r.events) for m in batches for r in m), billed


# ---- run ----


def _measure(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    results.update(_bench_journal(root / "raw", args.journal_events, args.journal_batch))

    with _child("noop", root / "noop") as port:
        floor = asyncio.run(_report_load(port, args, _report_bodies(args, "floor")))
    with _child("edge", root / "edge") as port:
        real = asyncio.run(_report_load(port, args, _report_bodies(args, "edge")))
    results["journal_events_per_s"] = real.events / real.seconds
    results["report_events_calls_per_s"] = real.calls / real.seconds
    results["report_events_errors"] = real.errors
    results["noop_report_events_per_s"] = floor.events / floor.seconds
    results["journal_vs_noop_report_events"] = results["journal_events_per_s"] / results["noop_report_events_per_s"]

    with _child("cloud", root / "cloud") as port:
        edge_token = (root / "cloud" / "edge.token").read_text()
        asyncio.run(_seed_cloud(port, (root / "cloud" / "admin.token").read_text()))
        key = _db_signing_key(root / "cloud")
        batches = _upload_batches(key, args)
        ingest_s, ingest_events, billed = asyncio.run(_upload_load(port, batches, edge_token))
    with _child("noop", root / "noop-ingest") as port:
        noop_batches = _upload_batches(_KEY, args)
        noop_s, noop_events, _ = asyncio.run(_upload_load(port, noop_batches, edge_token))
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
