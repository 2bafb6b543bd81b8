"""The edge half of ``cartads-bench events``: the durable journal's group appends against bare synced
LMDB puts, and the ReportEvents load sent to an edge (or a no-op server)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import lmdb

from cartads.bench.cloud.events_fixture import CHANNEL_OPTIONS, STORE_ID, bench_impressions
from cartads.v1.ad_service_pb2 import ReportEventsRequest
from cartads.v1.common_pb2 import CartEvent
from cartads.v1.event_ingest_pb2 import JournaledEvent


def bench_journal(root: Path, events: int, batch: int) -> dict[str, float]:
    """Group appends of ``batch`` events to the real journal vs bare synced LMDB puts of the same bytes."""
    from edge_node.config import EdgeConfig
    from edge_node.events.journal import Journal, JournalWrite

    sample = bench_impressions("j", batch)
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
        journal_hard_limit_bytes=1 << 40,
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


@dataclass
class ReportLoad:
    calls: int = 0
    events: int = 0
    errors: int = 0
    seconds: float = 0.0


def report_bodies(args: argparse.Namespace, tag: str) -> list[bytes]:
    """Serialized ReportEvents requests, built before the clock starts; every event id is new."""
    template = bench_impressions(tag, args.events_per_call)
    request = ReportEventsRequest(store_id=STORE_ID, cart_id="cart-1", events=template)
    bodies = []
    for call in range(args.calls):
        for event, original in zip(request.events, template, strict=True):
            event.event_id = f"{original.event_id}-{call}"
        bodies.append(request.SerializeToString())
    return bodies


async def report_load(port: int, args: argparse.Namespace, bodies: list[bytes]) -> ReportLoad:
    """Callers send the prepared requests as fast as answers come back; raw bytes keep the client cheap."""
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS) for _ in range(args.channels)]
    # Raw bytes in and out: no client-side (de)serialization in the measured loop.
    calls = [c.unary_unary("/cartads.v1.AdService/ReportEvents", None, None) for c in channels]
    load = ReportLoad()
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
