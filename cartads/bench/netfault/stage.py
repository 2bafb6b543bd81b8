"""The partition stage: a ``cartads-cloud`` process at the far end of a ``FaultyLink``, a
``cartads-edge`` process here reaching it only across the link, the demo's store with enrolled
carts, and reads of what each side says (thin: processes, set-up and reads)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc

from cart_client.app.catalog_loader import cart_catalog_from_sample
from cart_client.app.runner import TripStats
from cart_client.sim.replay import replay_trips
from cart_client.sim.simulator import simulate
from cartads.bench.edge.servers import free_port
from cartads.bench.netfault.link import FaultyLink
from cartads.credential_file import CartCredentialEntry
from cartads.demo.scenario import AdvertiserPlan, create_advertisers, create_store, enroll_carts, plan_advertisers
from cartads.rpc.bearer import aio_channel
from cartads.sample.instacart import Catalog, load_catalog, load_orders
from cartads.time_units import us_to_ts
from cartads.v1 import admin_pb2, common_pb2
from cartads.v1.ad_service_pb2 import ReportEventsRequest
from cartads.v1.ad_service_pb2_grpc import AdServiceStub
from cartads.v1.admin_pb2_grpc import AdminServiceStub

STORE_ID = "store-1"
EDGE_ID = "edge-1"
# The cloud has the far namespace to itself: any port is free there.
CLOUD_PORT = 50051
ROOT = Path(__file__).resolve().parents[3]


class Process:
    """A server process writing its log to a file."""

    def __init__(self, argv: list[str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)

    def lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    async def wait_for_line(self, marker: str, timeout_s: float = 60.0) -> str:
        """The first log line containing ``marker``; RuntimeError if the process exits first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.lines():
                if marker in line:
                    return line
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited ({self.proc.returncode}): " + "\n".join(self.lines()[-20:]))
            await asyncio.sleep(0.05)  # a child's log file: there is no event to await
        raise TimeoutError(f"no {marker!r} within {timeout_s} s: " + "\n".join(self.lines()[-20:]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


async def until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> float:
    """Seconds until ``predicate`` (run in a thread: it reads files and HTTP) holds; TimeoutError after
    ``timeout_s``. Polling: the other side is another process, with no event to await."""
    started = time.monotonic()
    while not await asyncio.to_thread(predicate):
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"not within {timeout_s} s")
        await asyncio.sleep(interval_s)
    return time.monotonic() - started


@dataclass
class PartitionStage:
    """The running link, cloud and edge, and what the test or bench needs to drive and read them."""

    link: FaultyLink
    work: Path
    cloud: Process
    edge: Process
    edge_port: int
    ops_port: int
    db_path: Path
    admin_token: str
    catalog: Catalog
    plans: list[AdvertiserPlan]
    carts: list[CartCredentialEntry]

    def metrics(self) -> dict[str, str]:
        """The edge's /metrics, each sample's name (with labels) to its value."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ops_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        return dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))

    def metric(self, name: str) -> float:
        return float(self.metrics()[name])

    def edge_says_connected(self) -> bool:
        return self.metric("cartads_edge_index_connected") == 1.0

    def cloud_says_connected(self) -> bool:
        """What ``cartads-admin edges list`` shows for the edge (read from the cloud's database, which
        answers during a partition, when the cloud's port across the link does not)."""
        with contextlib.closing(sqlite3.connect(self.db_path, timeout=30)) as conn:
            row = conn.execute("SELECT connected FROM edges WHERE edge_id = ?", (EDGE_ID,)).fetchone()
        return bool(row and row[0])

    def journal_depth(self) -> float:
        return self.metric("cartads_edge_journal_depth")

    def index_version(self) -> str:
        for name in self.metrics():
            if name.startswith("cartads_edge_index_version_info{"):
                return name.split('version="', 1)[1].split('"', 1)[0]
        return ""

    async def change_at_far_end(self) -> None:
        """An admin change made at the cloud's end (its loopback), so it works during a partition."""
        item = self.plans[0].line_items[0]
        argv = [*self.link.netns_exec(), sys.executable, "-m", "cloud_core.admin_cli.main"]
        argv += ["--cloud", f"127.0.0.1:{CLOUD_PORT}", "--token", self.admin_token]
        argv += [
            "line-items",
            "update",
            item.line_item_id,
            "--bid-micros",
            str(item.bid_micros + 1 + int(time.time()) % 997),
        ]
        done = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"admin change failed: {done.stderr.strip()}")

    async def shop(self, *, trips: int, seed: int) -> TripStats:
        """The enrolled carts replay ``trips`` real orders against the edge, shoppers looking at each ad
        for as long as a person does (so impressions are viewable and bill)."""
        simulated = simulate(load_orders(), self.catalog, count=trips, seed=seed, barcodes=False)
        stats = await replay_trips(
            f"127.0.0.1:{self.edge_port}",
            [(f"trip-{seed}-{trip.order_id}", trip.events) for trip in simulated],
            store_id=STORE_ID,
            carts=len(self.carts),
            cart_id_prefix="cart-",
            catalog=cart_catalog_from_sample(self.catalog),
            deadline_s=1.0,
            credentials=self.carts,
        )
        return TripStats.total(stats)

    async def fill_journal(self, events_per_cart: int) -> int:
        """Each enrolled cart reports ``events_per_cart`` basket adds (real products, a session of its
        own: nothing to attribute) in calls of 500, within a cart's burst; the events accepted."""
        products = [p.product_id for p in self.catalog.products[:500]]
        accepted = 0
        async with grpc.aio.insecure_channel(f"127.0.0.1:{self.edge_port}") as channel:
            stub = AdServiceStub(channel)
            for entry in self.carts:
                session = f"backlog-{uuid.uuid4().hex[:8]}"
                for start in range(0, events_per_cart, 500):
                    events = [
                        _basket_add(entry.cart_id, session, products[(start + n) % len(products)])
                        for n in range(min(500, events_per_cart - start))
                    ]
                    request = ReportEventsRequest(
                        store_id=STORE_ID, cart_id=entry.cart_id, events=events, cart_credential=entry.credential
                    )
                    request.send_time.CopyFrom(us_to_ts(int(time.time() * 1e6)))
                    answer = await stub.ReportEvents(request, timeout=30)
                    accepted += answer.accepted_count
        return accepted

    async def spend_report(self) -> tuple[admin_pb2.GetSpendReportResponse, dict[str, int]]:
        """The cloud's spend report and its dead letters by reason, asked across the link."""
        async with aio_channel(f"{self.link.far_ip}:{CLOUD_PORT}", self.admin_token) as channel:
            admin = AdminServiceStub(channel)
            report: admin_pb2.GetSpendReportResponse = await admin.GetSpendReport(
                admin_pb2.GetSpendReportRequest(store_id=STORE_ID), timeout=30
            )
            dead = await admin.ListDeadLetters(
                admin_pb2.ListDeadLettersRequest(store_id=STORE_ID, page_size=1000), timeout=30
            )
        reasons = Counter(admin_pb2.DeadLetterReason.Name(d.reason_code) for d in dead.dead_letters)
        return report, dict(reasons)


def _basket_add(cart_id: str, session_id: str, product_id: str) -> common_pb2.CartEvent:
    event = common_pb2.CartEvent(
        event_id=uuid.uuid4().hex,
        type=common_pb2.EVENT_TYPE_BASKET_ADD,
        cart_id=cart_id,
        session_id=session_id,
        product_id=product_id,
        quantity=1,
    )
    event.occur_time.CopyFrom(us_to_ts(int(time.time() * 1e6)))
    return event


async def _create_token(db_path: Path, *args: str) -> str:
    """``cartads-cloud create-token`` on the database file, as an operator bootstraps."""
    argv = [sys.executable, "-m", "cloud_core.app.cli", "create-token", "--db", str(db_path), *args]
    done = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, cwd=ROOT, check=True)
    return done.stdout.strip()


async def _seed(
    address: str, admin_token: str, catalog: Catalog, carts: int
) -> tuple[list[AdvertiserPlan], list[CartCredentialEntry]]:
    async with aio_channel(address, admin_token) as channel:
        admin = AdminServiceStub(channel)
        await create_store(admin, STORE_ID, "CartAds Partition Market", "America/Chicago", catalog)
        plans = plan_advertisers(catalog, load_orders())
        await create_advertisers(admin, plans, STORE_ID, datetime.now(UTC))
        entries = await enroll_carts(admin, STORE_ID, [f"cart-{n:03d}" for n in range(carts)])
    return plans, entries


@contextlib.asynccontextmanager
async def open_stage(work: Path, *, carts: int = 8, seed: int | None = None) -> AsyncIterator[PartitionStage]:
    """A link (clean until told otherwise), the cloud across it, the edge here, the store seeded."""
    catalog = load_catalog()
    db_path = work / "cloud.sqlite3"
    with FaultyLink(seed=seed) as link:
        cloud_argv = [*link.netns_exec(), sys.executable, "-m", "cloud_core.app.cli", "--db", str(db_path)]
        cloud = Process([*cloud_argv, "--listen", f"0.0.0.0:{CLOUD_PORT}", "--log-json"], work / "cloud.log")
        edge: Process | None = None
        try:
            await cloud.wait_for_line("listening on port")
            admin_token = await _create_token(db_path, "--role", "admin")
            plans, entries = await _seed(f"{link.far_ip}:{CLOUD_PORT}", admin_token, catalog, carts)
            edge_token = await _create_token(db_path, "--role", "edge", "--store", STORE_ID)
            token_file = work / "edge.token"
            token_file.write_text(edge_token + "\n")
            ops_port = free_port()
            edge_argv = [sys.executable, "-m", "edge_node.app.cli", "--store", STORE_ID, "--edge-id", EDGE_ID]
            edge_argv += ["--cloud", f"{link.far_ip}:{CLOUD_PORT}", "--cloud-token-file", str(token_file)]
            edge_argv += ["--data-dir", str(work / "edge"), "--listen", "127.0.0.1:0"]
            edge_argv += ["--ops-listen", f"127.0.0.1:{ops_port}", "--log-json"]
            edge = Process(edge_argv, work / "edge.log")
            line = await edge.wait_for_line("serving store")
            edge_port = int(line.split()[-1])
            stage = PartitionStage(
                link, work, cloud, edge, edge_port, ops_port, db_path, admin_token, catalog, plans, entries
            )
            await until(lambda: _ready_sync(ops_port) and stage.edge_says_connected(), timeout_s=60)
            yield stage
        finally:
            if edge is not None:
                edge.stop()
            cloud.stop()


def _ready_sync(ops_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ops_port}/readyz", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


__all__ = ["STORE_ID", "PartitionStage", "Process", "open_stage", "until"]
