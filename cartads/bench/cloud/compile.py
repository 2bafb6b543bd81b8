"""``cartads-bench cloud``: index compiles across many stores, and admin writes per second per engine.

- compile: N stores (the Instacart sample catalog each) and M live line items over them (the
  generator of ``index_fixture``, as ``cartads-bench sync`` uses), compiled by the cloud's own
  IndexBuilder in worker processes, one per CPU, each recompiling its share of the stores in one
  batch (``IndexBuilder.build_many``: the cloud-wide rows read and prepared once per batch, then
  per store its catalog, delivery inputs and compile). Baseline in the same run: one store compiled
  alone (``IndexBuilder.build``) in this process, so ``compile_parallel_speedup`` says how much
  the batching and the workers gain over compiling the stores one by one.
- incremental compile: the same stores' inputs read through the IndexBuilder (their real delivery
  inputs), compiled once; then one line item is edited (a bid, a pause, a new targeting; each one
  that serves every store) and the affected stores recompiled in this process, fully
  (``prepare_shared`` + ``compile_store_index``) and incrementally (``IncrementalCompiler``, warm from
  the compile before the edit), each index checked byte for byte against the full one. The same for
  an edit of a line item that targets one store. ``incremental_vs_full_compile_ratio`` is the time
  of the incremental recompiles over the full ones.
- admin writes: CreateLineItem calls through a real AdminService on loopback (in-process cloud,
  admin token minted directly), on a SQLite file and on a new PostgreSQL database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from cartads.bench.cloud.compile_incremental import bench_incremental
from cartads.bench.cloud.index_fixture import IndexFixture, build_fixture
from cartads.ops.logs import configure_logging
from cartads.rpc.bearer import aio_channel
from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2, admin_pb2_grpc, common_pb2
from cloud_core.access.policy import Role
from cloud_core.app.server import start_cloud
from cloud_core.compile.compiler import CompileSettings
from cloud_core.config import CloudConfig
from cloud_core.storage import schema as t
from cloud_core.storage.admin_rows import campaign_row, creative_row, line_item_row
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.sync.service import IndexBuilder

DESCRIPTION = "cloud: compile the indexes of many stores, and admin writes per second on SQLite and PostgreSQL"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``cartads-bench cloud``."""
    parser.add_argument("--stores", type=int, default=100, help="stores to compile (default 100)")
    parser.add_argument("--line-items", type=int, default=5000, help="live line items over them (default 5000)")
    parser.add_argument("--workers", type=int, default=0, help="compile processes (default: CPU count)")
    parser.add_argument(
        "--incremental-stores",
        type=int,
        default=100,
        help="stores recompiled after each edit for the incremental compile ratio (default 100, at most --stores)",
    )
    parser.add_argument("--writes", type=int, default=500, help="CreateLineItem calls per engine (default 500)")
    parser.add_argument("--write-callers", type=int, default=8, help="concurrent admin callers (default 8)")
    parser.add_argument(
        "--postgres",
        default=DEFAULT_PG,
        help="a PostgreSQL server (DSN of any database on it) to create the bench database on; '' skips "
        "(default %(default)s)",
    )
    parser.add_argument("--quick", action="store_true", help="a tiny run (a few seconds) for smoke tests")


# ---- populating a database fast (one transaction, not one per row) ----


def _populate(conn: sa.Connection, fixture: IndexFixture, store_ids: Sequence[str]) -> None:
    """The fixture's advertisers, campaigns, creatives and line items, and ``store_ids`` with its catalog."""
    for store_id in store_ids:
        conn.execute(
            sa.insert(t.stores),
            {
                "store_id": store_id,
                "display_name": f"Bench {store_id}",
                "time_zone": fixture.store.time_zone,
                "signing_key": fixture.signing_key,
                "create_time_us": 0,
            },
        )
        conn.execute(
            sa.insert(t.aisles),
            [
                {"store_id": store_id, "aisle_id": a.aisle_id, "display_name": a.display_name, "zone_id": a.zone_id}
                for a in fixture.aisles
            ],
        )
        conn.execute(
            sa.insert(t.departments),
            [
                {"store_id": store_id, "department_id": d.department_id, "display_name": d.display_name}
                for d in fixture.departments
            ],
        )
        conn.execute(
            sa.insert(t.products),
            [
                {
                    "store_id": store_id,
                    "product_id": p.product_id,
                    "display_name": p.display_name,
                    "aisle_id": p.aisle_id,
                    "department_id": p.department_id,
                    "brand": p.brand,
                    "price_micros": p.price_micros,
                }
                for p in fixture.products
            ],
        )
    conn.execute(
        sa.insert(t.advertisers),
        [
            {"advertiser_id": a.advertiser_id, "display_name": a.display_name, "create_time_us": 0}
            for a in fixture.advertisers
        ],
    )
    conn.execute(sa.insert(t.campaigns), [campaign_row(c) for c in fixture.campaigns])
    conn.execute(sa.insert(t.creatives), [creative_row(c) for c in fixture.creatives])
    conn.execute(sa.insert(t.line_items), [line_item_row(li) for li in fixture.line_items])
    conn.execute(
        sa.insert(t.line_item_creatives),
        [
            {"line_item_id": li.line_item_id, "creative_id": cid, "position": i}
            for li in fixture.line_items
            for i, cid in enumerate(li.creative_ids)
        ],
    )


# ---- compiling (worker processes) ----


def index_builder(store: SqlCloudStore) -> IndexBuilder:
    """The cloud's own index builder over ``store``."""
    return IndexBuilder(
        catalog=store.catalog,
        experiments=store.experiments,
        delivery=store.pacing_stats,
        carts=store.carts,
        settings=CompileSettings(),
    )


_WORKER_STORE: SqlCloudStore | None = None
_WORKER_LOOP: asyncio.AbstractEventLoop | None = None


def _worker_init(db: str) -> None:
    global _WORKER_STORE, _WORKER_LOOP  # noqa: PLW0603 - one store per worker process, opened once
    # A spawned worker starts with default logging: the pacing step's INFO lines would be timed too.
    configure_logging(level="WARNING")
    _WORKER_LOOP = asyncio.new_event_loop()
    _WORKER_STORE = _WORKER_LOOP.run_until_complete(SqlCloudStore.open(db))


def _ready(_: int) -> int:
    return os.getpid()


def _compile(store_ids: list[str]) -> tuple[list[int], float]:
    """Build these stores' indexes as the cloud recompiles many stores at once: their serialized
    sizes, and the CPU seconds it took (all threads of this worker)."""
    assert _WORKER_STORE is not None
    assert _WORKER_LOOP is not None
    cpu_started = time.process_time()
    indexes = _WORKER_LOOP.run_until_complete(index_builder(_WORKER_STORE).build_many(store_ids))
    assert len(indexes) == len(store_ids)
    return [index.ByteSize() for index in indexes.values()], time.process_time() - cpu_started


async def _compile_one(db: str, store_id: str) -> tuple[float, int, int]:
    store = await SqlCloudStore.open(db)
    try:
        started = time.perf_counter()
        index = await index_builder(store).build(store_id)
        elapsed = time.perf_counter() - started
    finally:
        await store.close()
    assert index is not None
    return elapsed, len(index.line_items), index.ByteSize()


def _bench_compile(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    now = datetime.now(UTC)
    fixture = build_fixture(args.line_items, now)
    store_ids = [f"store-{i:03d}" for i in range(args.stores)]
    db = str(work / "compile.sqlite3")

    async def setup() -> None:
        store = await SqlCloudStore.open(db)
        try:
            await store.db.write(lambda conn: _populate(conn, fixture, store_ids))
        finally:
            await store.close()

    asyncio.run(setup())
    incremental = bench_incremental(db, store_ids[: max(1, args.incremental_stores)], index_builder)
    one_s, live_items, index_bytes = asyncio.run(_compile_one(db, store_ids[0]))
    workers = args.workers or os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_worker_init, initargs=(db,)) as pool:
        # Every worker started, imported and opened the database before the clock starts.
        pool.map(_ready, range(workers * 4), chunksize=1)
        started = time.perf_counter()
        # One batch per worker: each reads and prepares the cloud-wide rows once for its stores.
        batches = [store_ids[i::workers] for i in range(workers) if store_ids[i::workers]]
        done = pool.map(_compile, batches, chunksize=1)
        total_s = time.perf_counter() - started
    sizes = [size for batch_sizes, _ in done for size in batch_sizes]
    cpu_s = sum(cpu for _, cpu in done)
    return {
        "stores": args.stores,
        "line_items": args.line_items,
        "live_line_items_per_index": live_items,
        "index_bytes": index_bytes,
        "compile_workers": workers,
        "compile_one_store_s": round(one_s, 3),
        "compile_stores_s": round(total_s, 3),
        # The headline number, measured only at its size (null in a --quick or resized run).
        "compile_100_stores_s": round(total_s, 3) if args.stores == 100 else None,
        "compile_stores_per_s": round(len(sizes) / total_s, 2),
        "compile_parallel_speedup": round(one_s * len(sizes) / total_s, 2),
        # CPU seconds the workers spent: on a busy machine the wall time above grows with the other
        # load, this does not; ``compile_cpu_s / compile_workers`` is the wall time on idle cores.
        "compile_cpu_s": round(cpu_s, 3),
        **incremental,
    }


# ---- admin writes ----


def _write_line_item(i: int, now: datetime) -> admin_pb2.CreateLineItemRequest:
    return admin_pb2.CreateLineItemRequest(
        line_item=admin_pb2.LineItem(
            line_item_id=f"w-{i:06d}",
            campaign_id="c1",
            display_name=f"Write {i}",
            pricing_model=common_pb2.PRICING_MODEL_CPM,
            bid_micros=1_000_000 + i,
            creative_ids=["cr1"],
            targeting=admin_pb2.Targeting(brands=[f"brand-{i % 50}"]),
            state=admin_pb2.SERVING_STATE_ACTIVE,
        )
    )


async def _admin_writes(db: str, writes: int, callers: int) -> float:
    """CreateLineItem calls per second through a real AdminService on ``db``."""
    cloud = await start_cloud(CloudConfig(db=db, listen_address="127.0.0.1:0"))
    channel = aio_channel(f"127.0.0.1:{cloud.port}", await cloud.mint_token(Role.ADMIN))
    try:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        now = datetime.now(UTC)
        await admin.CreateAdvertiser(
            admin_pb2.CreateAdvertiserRequest(advertiser_id="acme", advertiser=admin_pb2.Advertiser(display_name="A"))
        )
        await admin.CreateCreative(
            admin_pb2.CreateCreativeRequest(
                creative=admin_pb2.CreativeSpec(
                    creative_id="cr1",
                    advertiser_id="acme",
                    display_name="Creative",
                    format=common_pb2.CREATIVE_FORMAT_BANNER,
                    headline="Fresh",
                    body="Fresh fruit every day",
                )
            )
        )
        await admin.CreateCampaign(
            admin_pb2.CreateCampaignRequest(
                campaign=admin_pb2.Campaign(
                    campaign_id="c1",
                    advertiser_id="acme",
                    display_name="Campaign",
                    start_time=dt_to_ts(now),
                    end_time=dt_to_ts(now.replace(year=now.year + 1)),
                    budget_micros=10**12,
                    state=admin_pb2.SERVING_STATE_ACTIVE,
                )
            )
        )
        requests = [_write_line_item(i, now) for i in range(writes)]
        queue = iter(requests)

        async def caller() -> None:
            for request in queue:
                await admin.CreateLineItem(request, timeout=30)

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        return writes / (time.perf_counter() - started)
    finally:
        await channel.close(None)
        await cloud.stop(grace_s=0.1)


def _bench_postgres_writes(server_dsn: str, writes: int, callers: int) -> tuple[float | None, str]:
    """Writes per second on a new database of ``server_dsn``'s server (dropped after); None when unreachable."""
    name = f"cartads_bench_{os.getpid()}"
    try:
        with psycopg.connect(server_dsn, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        return None, f"PostgreSQL not reachable: {str(exc).strip().splitlines()[0]}"
    dsn = str(sa.make_url(server_dsn).set(database=name).render_as_string(hide_password=False))
    try:
        return asyncio.run(_admin_writes(dsn, writes, callers)), ""
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _measure(args: argparse.Namespace) -> dict[str, Any]:
    if args.quick:
        args.stores, args.line_items, args.writes = min(args.stores, 4), min(args.line_items, 200), min(args.writes, 20)
    with tempfile.TemporaryDirectory(prefix="cartads-bench-cloud-") as root:
        work = Path(root)
        results = _bench_compile(args, work)
        sqlite_rate = asyncio.run(_admin_writes(str(work / "writes.sqlite3"), args.writes, args.write_callers))
    results["admin_writes"] = args.writes
    results["admin_write_callers"] = args.write_callers
    results["admin_writes_per_s_sqlite"] = round(sqlite_rate, 1)
    pg_rate, why = (
        _bench_postgres_writes(args.postgres, args.writes, args.write_callers)
        if args.postgres
        else (
            None,
            "skipped (--postgres '')",
        )
    )
    results["admin_writes_per_s_postgres"] = None if pg_rate is None else round(pg_rate, 1)
    if why:
        results["postgres_note"] = why
    return results


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; print a table, or one JSON object with --json."""
    # The in-process cloud's request log would drown the output.
    configure_logging(level="WARNING")
    results = _measure(args)
    if args.json:
        print(json.dumps(results, sort_keys=True))
        return 0
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    return 0
