"""Replica memory as stores x versions grow: one `cartads-cloud` process serves one light edge per
store while every store's index changes ``--versions`` times; its RSS is read after each round.

Each round edits one line item's bid (line items target every store), so every store compiles a new
version and every edge ACKs it before the RSS is read. The baseline is the RSS after the first round
(stores x 1 version): with versions in the database and a byte-bounded cache, later rounds stay near it.

    .venv/bin/python scripts/replica_memory.py --stores 200 --versions 10 --db postgresql://postgres@127.0.0.1:5432/test

``--db`` names a PostgreSQL server (the script creates and drops its own database there) or "sqlite".
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import psycopg
from google.protobuf.field_mask_pb2 import FieldMask

from cartads.bench.cloud.compile import _populate
from cartads.bench.cloud.index_fixture import build_fixture
from cartads.rpc.bearer import aio_channel
from cartads.time_units import now_us
from cartads.v1 import admin_pb2, admin_pb2_grpc, index_sync_pb2, index_sync_pb2_grpc
from cloud_core.access.api_tokens import issue_token
from cloud_core.access.policy import Role
from cloud_core.storage.cloud_store import SqlCloudStore

_PORT_LINE = re.compile(rb"listening on port (\d+)")


def _rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and RssAnon (the heap, apart from mapped files) of ``pid`` in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon"):
            out[name] = int(value.split()[0])
    return out


class Edge:
    """A light edge: reads each update of its store's stream and ACKs it (no verification)."""

    def __init__(self, channel: grpc.aio.Channel, store_id: str) -> None:
        self.store_id = store_id
        self.version = ""
        self.updates = 0
        self._call: Any = index_sync_pb2_grpc.IndexSyncServiceStub(channel).StreamIndex(None)

    async def run(self) -> None:
        await self._call.write(index_sync_pb2.StreamIndexRequest(store_id=self.store_id, edge_id="edge-1"))
        while True:
            response = await self._call.read()
            if not isinstance(response, index_sync_pb2.StreamIndexResponse):  # the stream ended
                return
            last_chunk = response.HasField("chunk") and response.chunk.chunk_index == response.chunk.chunk_count - 1
            if response.HasField("delta") or last_chunk:
                self.version, self.updates = response.version, self.updates + 1
                await self._call.write(
                    index_sync_pb2.StreamIndexRequest(version=response.version, response_nonce=response.nonce)
                )

    def cancel(self) -> None:
        self._call.cancel()


def _make_database(server: str, name: str) -> str:
    if server == "sqlite":
        return str(Path(tempfile.mkdtemp(prefix="replica-memory-")) / "cloud.sqlite3")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return server.rsplit("/", 1)[0] + f"/{name}"


async def _seed(db: str, stores: list[str], line_items: int) -> tuple[str, dict[str, str]]:
    store = await SqlCloudStore.open(db)
    try:
        fixture = build_fixture(line_items, datetime.now(UTC))
        await store.db.write(lambda conn: _populate(conn, fixture, stores))
        _, admin = await issue_token(store.tokens, Role.ADMIN, now_us())
        edges = {s: (await issue_token(store.tokens, Role.EDGE, now_us(), store_id=s))[1] for s in stores}
    finally:
        await store.close()
    return admin, edges


# The schema of the code before this change: the baseline cloud refuses a newer one.
BASELINE_REVISION = "0012_report_exports"


def _downgrade(db: str, revision: str) -> None:
    from alembic import command

    from cloud_core.storage.sql.database import create_engine, database_url
    from cloud_core.storage.sql.migrations import alembic_config

    engine = create_engine(database_url(db))
    try:
        with engine.connect() as conn, conn.begin():
            command.downgrade(alembic_config(conn), revision)
    finally:
        engine.dispose()


async def _cloud(db: str, cache_mb: int, checkout: str) -> tuple[asyncio.subprocess.Process, int]:
    # Another checkout (the baseline) runs its own code from its own directory, without the new flag.
    cache = ["--index-cache-mb", str(cache_mb)] if not checkout else []
    process = await asyncio.create_subprocess_exec(
        str(Path(checkout) / ".venv/bin/python") if checkout else sys.executable,
        "-m",
        "cloud_core.app.cli",
        *("--db", db, "--listen", "127.0.0.1:0", "--log-level", "WARNING", *cache),
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        cwd=checkout or None,
    )
    assert process.stderr is not None
    while True:
        line = await asyncio.wait_for(process.stderr.readline(), 60)
        if not line:
            raise RuntimeError("cartads-cloud exited before it listened")
        found = _PORT_LINE.search(line)
        if found:
            return process, int(found.group(1))


async def _until(predicate: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("edges did not all ACK in time")
        await asyncio.sleep(0.1)


async def measure(args: argparse.Namespace, checkout: str = "") -> dict[str, Any]:
    """One run against a fresh database, the cloud from this checkout or from ``checkout``."""
    db = _make_database(args.db, args.db_name)
    stores = [f"store-{i:04d}" for i in range(args.stores)]
    admin_token, edge_tokens = await _seed(db, stores, args.line_items)
    if checkout:
        _downgrade(db, BASELINE_REVISION)
    process, port = await _cloud(db, args.index_cache_mb, checkout)
    address = f"127.0.0.1:{port}"
    channels = [aio_channel(address, edge_tokens[s]) for s in stores]
    admin_channel = aio_channel(address, admin_token)
    admin = admin_pb2_grpc.AdminServiceStub(admin_channel)
    edges = [Edge(c, s) for c, s in zip(channels, stores, strict=True)]
    tasks = [asyncio.create_task(e.run()) for e in edges]
    rounds: list[dict[str, Any]] = []
    try:
        started = time.monotonic()
        await _until(lambda: all(e.updates >= 1 for e in edges), args.timeout_s)
        for r in range(1, args.versions + 1):
            if r > 1:
                await admin.UpdateLineItem(
                    admin_pb2.UpdateLineItemRequest(
                        line_item=admin_pb2.LineItem(line_item_id="li-000000", bid_micros=1_000_000 + r),
                        update_mask=FieldMask(paths=["bid_micros"]),
                    ),
                    timeout=30,
                )
                await _until(lambda r=r: all(e.updates >= r for e in edges), args.timeout_s)
            rounds.append({"round": r, "versions_per_store": r, **_rss_kib(process.pid)})
            print(json.dumps(rounds[-1]), file=sys.stderr, flush=True)
        elapsed = time.monotonic() - started
    finally:
        for edge in edges:
            edge.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in [*channels, admin_channel]:
            await channel.close(None)
        process.terminate()
        await process.wait()
    first, last = rounds[0], rounds[-1]
    return {
        "stores": args.stores,
        "versions": args.versions,
        "line_items": args.line_items,
        "index_cache_mb": None if checkout else args.index_cache_mb,
        "cloud": checkout or "this checkout",
        "engine": "sqlite" if args.db == "sqlite" else "postgresql",
        "rss_mb_first_round": round(first["VmRSS"] / 1024, 1),
        "rss_mb_last_round": round(last["VmRSS"] / 1024, 1),
        "rss_anon_mb_first_round": round(first["RssAnon"] / 1024, 1),
        "rss_anon_mb_last_round": round(last["RssAnon"] / 1024, 1),
        "rss_last_over_first": round(last["VmRSS"] / first["VmRSS"], 3),
        "seconds": round(elapsed, 1),
        "rounds": rounds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--line-items", type=int, default=200, help="line items, each targeting every store")
    parser.add_argument("--index-cache-mb", type=int, default=64)
    parser.add_argument(
        "--db", default="postgresql://postgres@127.0.0.1:5432/test", help="PostgreSQL server DSN or 'sqlite'"
    )
    parser.add_argument("--timeout-s", type=float, default=300.0)
    parser.add_argument(
        "--baseline-checkout",
        default="",
        help="also measure the cloud of this checkout (with its own .venv), e.g. the code before this change, "
        "after this one's, and report both",
    )
    parser.add_argument("--db-name", default="cartads_replica_memory", help="the database made on the server")
    args = parser.parse_args()
    result = asyncio.run(measure(args))
    if args.baseline_checkout:
        baseline = asyncio.run(measure(args, args.baseline_checkout))
        result = {
            "this": result,
            "baseline": baseline,
            "rss_growth_this_over_baseline": round(
                (result["rss_mb_last_round"] - result["rss_mb_first_round"])
                / max(0.1, baseline["rss_mb_last_round"] - baseline["rss_mb_first_round"]),
                3,
            ),
        }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
