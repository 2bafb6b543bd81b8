"""``cartads-bench sync``: index distribution from one cloud process to many edge streams.

The cloud runs as its own process (``cartads-cloud``) on a SQLite file holding a store with
thousands of line items built through the cloud's own store and compiler. Simulated edges are
light clients that really verify every update (chunk checksum, delta applied and content hash
checked, references checked) and ACK it; they are spread over worker processes so their CPU does
not queue behind one core. Measured: time from an admin change to the last edge's ACK, bytes of a
delta against the full snapshot, and the real edge's apply of the full index into LMDB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask

from cartads.bench.cloud.index_fixture import build_fixture, populate
from cartads.bench.cloud.sync_apply import measure_apply
from cartads.bench.cloud.sync_edges import WorkerSpec, run_edge_worker
from cartads.rpc.bearer import aio_channel
from cartads.time_units import now_us
from cartads.v1 import admin_pb2
from cartads.v1.admin_pb2_grpc import AdminServiceStub
from cloud_core.access.api_tokens import issue_token
from cloud_core.access.policy import Role
from cloud_core.storage.cloud_store import SqlCloudStore

DESCRIPTION = (
    "index distribution: one cloud process, N simulated edge streams; admin change to last ACK, "
    "delta vs full bytes, the edge's LMDB apply time"
)
_PORT_LINE = re.compile(rb"listening on port (\d+)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--edges", type=int, default=200, help="simulated edge streams (default 200)")
    parser.add_argument("--line-items", type=int, default=5000, help="line items in the store's index")
    parser.add_argument("--changes", type=int, default=5, help="admin changes to time (median reported)")
    parser.add_argument(
        "--workers", type=int, default=0, help="processes the simulated edges run in (default: CPU count)"
    )
    parser.add_argument("--timeout-s", type=float, default=120.0, help="give up waiting for ACKs after this")


async def _start_cloud(db_path: Path) -> tuple[asyncio.subprocess.Process, int, asyncio.Task[None]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cloud_core.app.cli",
        "--db",
        str(db_path),
        "--listen",
        "127.0.0.1:0",
        "--log-level",
        "WARNING",
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert process.stderr is not None
    port = 0
    while not port:
        line = await asyncio.wait_for(process.stderr.readline(), 60.0)
        if not line:
            raise RuntimeError("cartads-cloud exited before it listened")
        found = _PORT_LINE.search(line)
        if found:
            port = int(found.group(1))

    async def drain(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass

    return process, port, asyncio.create_task(drain(process.stderr))


async def _change_bid(admin: Any, line_item_id: str, bid_micros: int) -> None:
    await admin.UpdateLineItem(
        admin_pb2.UpdateLineItemRequest(
            line_item=admin_pb2.LineItem(line_item_id=line_item_id, bid_micros=bid_micros),
            update_mask=FieldMask(paths=["bid_micros"]),
        ),
        timeout=30.0,
    )


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def _bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    now = datetime.now(UTC)
    fixture = build_fixture(args.line_items, now)
    store = await SqlCloudStore.open(str(work / "cloud.sqlite3"))
    try:
        await populate(store.catalog, store.advertisers, store.campaigns, fixture)
        _, admin_token = await issue_token(store.tokens, Role.ADMIN, now_us(), display_name="bench operator")
        _, edge_token = await issue_token(store.tokens, Role.EDGE, now_us(), store_id=fixture.store.store_id)
    finally:
        await store.close()
    apply = await asyncio.to_thread(measure_apply, fixture, now, work / "edge-apply")

    process, port, drainer = await _start_cloud(work / "cloud.sqlite3")
    workers = args.workers or os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    commands = [context.Queue() for _ in range(workers)]
    results: Any = context.Queue()
    procs = []
    first_edge = 0
    for index, count in enumerate(_split(args.edges, workers)):
        spec = WorkerSpec(f"127.0.0.1:{port}", fixture.store.store_id, first_edge, count, edge_token)
        proc = context.Process(target=run_edge_worker, args=(spec, commands[index], results))
        first_edge += count
        proc.start()
        procs.append(proc)
    try:
        return await _drive(
            args,
            port,
            admin_token,
            item=fixture.line_items[0],
            commands=commands,
            results=results,
            apply=apply,
        )
    finally:
        for queue in commands:
            queue.put(None)
        for proc in procs:
            await asyncio.to_thread(proc.join, 10.0)
            if proc.is_alive():
                proc.terminate()
        process.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 10.0)
        drainer.cancel()


async def _collect(results: Any, workers: int, timeout_s: float) -> list[dict[str, Any]]:
    reports = []
    for _ in range(workers):
        report = await asyncio.to_thread(results.get, True, timeout_s)
        if "error" in report:
            raise RuntimeError(f"edge worker failed: {report['error']}")
        reports.append(report)
    return reports


async def _drive(
    args: argparse.Namespace,
    port: int,
    admin_token: str,
    *,
    item: admin_pb2.LineItem,
    commands: list[Any],
    results: Any,
    apply: dict[str, float],
) -> dict[str, Any]:
    workers = len(commands)
    started = time.monotonic()
    for queue in commands:
        queue.put({"wait_for": "any"})
    initial = await _collect(results, workers, args.timeout_s)
    initial_sync_s = max(r["last_ack_s"] for r in initial) - started
    full_bytes = max(r["payload_bytes"] for r in initial)
    version = initial[0]["version"]
    last_reports = initial
    rounds: list[dict[str, float]] = []
    delta_bytes: list[int] = []
    kinds: dict[str, int] = {}
    async with aio_channel(f"127.0.0.1:{port}", admin_token) as channel:
        admin = AdminServiceStub(channel)
        for change in range(args.changes):
            for queue in commands:
                queue.put({"wait_for": "not", "version": version})
            t0 = time.monotonic()
            await _change_bid(admin, item.line_item_id, item.bid_micros + 1_000 * (change + 1))
            reports = last_reports = await _collect(results, workers, args.timeout_s)
            versions = {r["version"] for r in reports}
            if len(versions) != 1:
                raise RuntimeError(f"edges disagree on the version: {versions}")
            version = versions.pop()
            rounds.append(
                {
                    "first_ack_s": min(r["first_ack_s"] for r in reports) - t0,
                    "last_ack_s": max(r["last_ack_s"] for r in reports) - t0,
                    "first_receive_s": min(r["first_receive_s"] for r in reports) - t0,
                    "last_receive_s": max(r["last_receive_s"] for r in reports) - t0,
                }
            )
            delta_bytes.extend(r["payload_bytes"] for r in reports)
            for report in reports:
                for kind, count in report["kinds"].items():
                    kinds[kind] = kinds.get(kind, 0) + count
    # Workers report their edges' NACKs so far; the last reports hold the totals.
    nacks = sum(r["nacks"] for r in last_reports)
    last = [r["last_ack_s"] for r in rounds]
    median_delta = int(statistics.median(delta_bytes)) if delta_bytes else 0
    return {
        "edges": args.edges,
        "line_items": args.line_items,
        "changes": args.changes,
        "workers": workers,
        "change_to_first_ack_s": round(statistics.median(r["first_ack_s"] for r in rounds), 4),
        "change_to_last_ack_s": round(statistics.median(last), 4),
        "change_to_last_ack_max_s": round(max(last), 4),
        # When the update reached the simulated edges, before they verified it: the cloud's part.
        "change_to_first_receive_s": round(statistics.median(r["first_receive_s"] for r in rounds), 4),
        "change_to_last_receive_s": round(statistics.median(r["last_receive_s"] for r in rounds), 4),
        "initial_full_sync_s": round(initial_sync_s, 4),
        "delta_bytes": median_delta,
        "full_bytes": full_bytes,
        "delta_to_full_ratio": round(median_delta / full_bytes, 6) if full_bytes else 0.0,
        "update_kinds_after_change": kinds,
        "nacks": nacks,
        **{k: round(v, 4) for k, v in apply.items()},
    }


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="cartads-bench-sync-") as tmp:
        result = asyncio.run(_bench(args, Path(tmp)))
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    for key, value in result.items():
        print(f"{key:28} {value}")
    return 0
