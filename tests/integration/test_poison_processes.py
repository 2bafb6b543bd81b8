"""Poison never blocks billing, shown with real processes: a ``cartads-cloud`` process (over a database
that refuses what the test says, ``tests/integration/poisoned_cloud.py``) and a ``cartads-edge`` process.

Each test asserts, besides its own point, that no call it made and no request line either server
logged answered UNKNOWN or INTERNAL, and that both servers still answer at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
import urllib.request
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import grpc
import pytest

from cartads.bench.cloud.signed_events import signed_impressions
from cartads.rpc.bearer import aio_channel
from cartads.time_units import dt_to_ts
from cartads.v1 import ad_service_pb2_grpc, admin_pb2, admin_pb2_grpc, common_pb2, event_ingest_pb2_grpc
from cartads.v1.ad_service_pb2 import GetAdsRequest, ReportEventsRequest
from cartads.v1.event_ingest_pb2 import JournaledEvent, UploadEventsRequest
from tests.cart_credentials import ad_channel, enroll_cart, fixed_credentials
from tests.cloud_core.helpers import STORE_ID, line_item, seed
from tests.corrupt_requests import CLOUD_SERVICES, contract_methods, send_corrupt_bytes
from tests.eventually import eventually
from tests.integration.server_processes import ORIGIN, create_token_cli, free_port, signing_key

if TYPE_CHECKING:
    from cartads.v1.ad_service_pb2_grpc import AdServiceAsyncStub
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
POISON_EVENT_ID = "ev-poison-0"
LAYER = "everyone"
FAILURES = frozenset({grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL})


class Child:
    """A server process; every line it writes is kept for the test to read."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._readers: list[asyncio.Task[None]] = []

    @classmethod
    async def start(cls, args: list[str], env: dict[str, str], marker: str) -> tuple[Child, int]:
        """Start ``python ARGS``; the port is the last word of the first line containing ``marker``."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, **env},
        )
        child = cls(proc)
        found: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        for stream in (proc.stdout, proc.stderr):
            assert stream is not None
            child._readers.append(asyncio.create_task(child._read(stream, marker, found)))
        async with asyncio.timeout(30):
            return child, await found

    async def _read(self, stream: asyncio.StreamReader, marker: str, found: asyncio.Future[int]) -> None:
        while line := (await stream.readline()).decode(errors="replace"):
            self.lines.append(line)
            if marker in line and not found.done():
                found.set_result(int(line.split()[-1]))
        if not found.done():
            found.set_exception(RuntimeError(f"exited before it listened: {''.join(self.lines[-20:])}"))

    def failures_logged(self) -> list[str]:
        """Request lines with UNKNOWN or INTERNAL, and internal errors, among what the process wrote."""
        return [
            line
            for line in self.lines
            if '"code": "UNKNOWN"' in line or '"code": "INTERNAL"' in line or "rpc_internal_error" in line
        ]

    async def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.terminate()
        try:
            async with asyncio.timeout(10):
                await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        for reader in self._readers:
            reader.cancel()


@dataclass
class Servers:
    """The two processes, how to reach them, and every status code the test's calls got."""

    cloud: Child
    edge: Child
    cloud_port: int
    edge_port: int
    ops_port: int
    db_path: Path
    key: bytes
    admin_token: str
    edge_token: str
    down_file: Path
    codes: list[grpc.StatusCode] = field(default_factory=list)
    # Enrolled carts' credentials by cart id (``cart`` sends them).
    credentials: dict[str, str] = field(default_factory=dict)

    async def observe(self, call: Awaitable[T]) -> T | grpc.aio.AioRpcError:
        """The call's answer (or its error), its status code recorded."""
        try:
            result = await call
        except grpc.aio.AioRpcError as error:
            self.codes.append(error.code())
            return error
        self.codes.append(grpc.StatusCode.OK)
        return result

    def journal_depth(self) -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ops_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        [line] = [line for line in text.splitlines() if line.startswith("cartads_edge_journal_depth ")]
        return float(line.split()[-1])

    def ledger_counts(self) -> dict[str, int]:
        with contextlib.closing(sqlite3.connect(self.db_path, timeout=30)) as conn:
            rows = conn.execute("SELECT event_id, COUNT(*) FROM ledger GROUP BY event_id")
            return {str(r[0]): int(r[1]) for r in rows}

    def dead_letters(self) -> dict[str, str]:
        with contextlib.closing(sqlite3.connect(self.db_path, timeout=30)) as conn:
            return {str(r[0]): str(r[1]) for r in conn.execute("SELECT event_id, reason FROM dead_letters")}


async def _seed(admin: AdminServiceAsyncStub) -> dict[str, str]:
    """Store s1, advertiser acme's CPM line item li1, an experiment every trip is in, and the enrolled
    carts cart-1 and cart-end (their credentials by cart id)."""
    await seed(admin, budget_micros=10**12)
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
    await admin.CreateExperimentLayer(
        admin_pb2.CreateExperimentLayerRequest(
            layer_id=LAYER,
            experiment_layer=admin_pb2.ExperimentLayer(
                display_name="everyone", salt="s", arms=[admin_pb2.ExperimentArm(arm_id="all", traffic_bps=10_000)]
            ),
        )
    )
    return {cart_id: await enroll_cart(admin, STORE_ID, cart_id) for cart_id in ("cart-1", "cart-end")}


def _ready(ops_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ops_port}/readyz", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[Servers]:
    db_path = tmp_path / "cloud.sqlite3"
    down_file = tmp_path / "database-down"
    cloud_port = free_port()
    cloud_env = {"CARTADS_TEST_POISON_EVENT_ID": POISON_EVENT_ID, "CARTADS_TEST_DATABASE_DOWN_FILE": str(down_file)}
    cloud_args = ["-m", "tests.integration.poisoned_cloud", "--db", str(db_path), "--listen", f"127.0.0.1:{cloud_port}"]
    cloud, _ = await Child.start([*cloud_args, "--log-json"], cloud_env, "listening on port")
    edge: Child | None = None
    try:
        admin_token = await create_token_cli(db_path, "--role", "admin")
        async with aio_channel(f"127.0.0.1:{cloud_port}", admin_token) as channel:
            credentials = await _seed(admin_pb2_grpc.AdminServiceStub(channel))
        edge_token = await create_token_cli(db_path, "--role", "edge", "--store", STORE_ID)
        token_file = tmp_path / "edge.token"
        token_file.write_text(edge_token + "\n")
        ops_port = free_port()
        edge_args = ["-m", "edge_node.app.cli", "--store", STORE_ID, "--edge-id", "edge-1"]
        edge_args += ["--cloud", f"127.0.0.1:{cloud_port}", "--data-dir", str(tmp_path / "edge")]
        edge_args += ["--listen", "127.0.0.1:0", "--ops-listen", f"127.0.0.1:{ops_port}"]
        edge_args += ["--cloud-token-file", str(token_file), "--log-json"]
        edge, edge_port = await Child.start(edge_args, {}, "serving store")
        # Carts are checked against the index: the edge holds it before the test calls.
        await eventually(lambda: asyncio.to_thread(_ready, ops_port), timeout_s=30, what="edge ready")
        yield Servers(
            cloud,
            edge,
            cloud_port,
            edge_port,
            ops_port,
            db_path,
            signing_key(db_path),
            admin_token,
            edge_token,
            down_file,
            credentials=credentials,
        )
    finally:
        if edge is not None:
            await edge.stop()
        await cloud.stop()


@contextlib.asynccontextmanager
async def cart(servers: Servers) -> AsyncIterator[AdServiceAsyncStub]:
    async with ad_channel(f"127.0.0.1:{servers.edge_port}", fixed_credentials(servers.credentials)) as channel:
        yield ad_service_pb2_grpc.AdServiceStub(channel)


async def assert_healthy_end(servers: Servers) -> None:
    """No UNKNOWN or INTERNAL answered or logged anywhere, and both servers still answer."""
    async with cart(servers) as ads:
        answer = await servers.observe(ads.GetAds(GetAdsRequest(store_id=STORE_ID, cart_id="cart-end", max_ads=1)))
    async with aio_channel(f"127.0.0.1:{servers.cloud_port}", servers.admin_token) as channel:
        stores = await servers.observe(
            admin_pb2_grpc.AdminServiceStub(channel).ListStores(admin_pb2.ListStoresRequest())
        )
    assert not isinstance(answer, grpc.aio.AioRpcError)
    assert not isinstance(stores, grpc.aio.AioRpcError)
    assert [code for code in servers.codes if code in FAILURES] == []
    assert servers.cloud.failures_logged() + servers.edge.failures_logged() == []


@pytest.mark.timeout(120)
async def test_an_event_the_database_refuses_is_dead_lettered_and_the_rest_billed(servers: Servers) -> None:
    """Among 30 reported impressions, the one the database refuses is a dead letter; 29 are billed once
    each and the edge's journal drains."""
    events = signed_impressions(ORIGIN, servers.key, "poison", 10)  # the first one's id is POISON_EVENT_ID
    events += signed_impressions(ORIGIN, servers.key, "plain", 20)
    async with cart(servers) as ads:
        for start in range(0, 30, 10):
            request = ReportEventsRequest(store_id=STORE_ID, cart_id="cart-1", events=events[start : start + 10])
            assert not isinstance(await servers.observe(ads.ReportEvents(request)), grpc.aio.AioRpcError)
    others = {e.event_id for e in events} - {POISON_EVENT_ID}
    await eventually(
        lambda: asyncio.to_thread(lambda: others <= servers.ledger_counts().keys() and servers.journal_depth() == 0),
        timeout_s=30,
        interval_s=0.1,
    )
    counts = servers.ledger_counts()
    assert {event_id: n for event_id, n in counts.items() if n != 1} == {}
    assert set(counts) == others
    [(dead_id, reason)] = servers.dead_letters().items()
    assert (dead_id, reason.split(":")[0]) == (POISON_EVENT_ID, "ingest failure")
    isolated = [line for line in servers.cloud.lines if '"ingest_isolated"' in line]
    assert len(isolated) == 1
    assert '"level": "error"' in isolated[0]
    assert f'"event_id": "{POISON_EVENT_ID}"' in isolated[0]
    await assert_healthy_end(servers)


@pytest.mark.timeout(120)
async def test_a_basket_add_of_two_to_the_31_during_an_experiment_bills_nothing_and_blocks_nothing(
    servers: Servers,
) -> None:
    """The edge refuses a cart's basket add of quantity 2^31 - 1; uploaded by an edge credential directly,
    it is a malformed dead letter while the rest of the upload is billed and reports stay bounded."""
    huge = common_pb2.CartEvent(
        event_id="huge-add",
        type=common_pb2.EVENT_TYPE_BASKET_ADD,
        cart_id="cart-1",
        session_id="sess-1",
        product_id="24852",
        quantity=2**31 - 1,
    )
    async with cart(servers) as ads:
        refused = await servers.observe(
            ads.ReportEvents(ReportEventsRequest(store_id=STORE_ID, cart_id="cart-1", events=[huge]))
        )
    assert isinstance(refused, grpc.aio.AioRpcError)
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT

    # The same event from an edge that did not check it, stamped as an edge stamps basket adds; and
    # beside it the largest add the bounds allow (quantity 999 at $1,000: invalid traffic here).
    stamped = common_pb2.CartEvent()
    stamped.CopyFrom(huge)
    stamped.unit_price_micros, stamped.advertised_product = 5_000_000, True
    stamped.experiment_arms.add(layer_id=LAYER, arm_id="all")
    largest = common_pb2.CartEvent()
    largest.CopyFrom(stamped)
    largest.event_id, largest.quantity, largest.unit_price_micros = "largest-add", 999, 10**9
    now = dt_to_ts(datetime.now(UTC))
    journaled = [
        JournaledEvent(seq=i + 1, event=e, receive_time=now)
        for i, e in enumerate([*signed_impressions(ORIGIN, servers.key, "direct", 5), stamped, largest])
    ]
    async with aio_channel(f"127.0.0.1:{servers.cloud_port}", servers.edge_token) as channel:
        ingest = event_ingest_pb2_grpc.EventIngestServiceStub(channel)
        upload = UploadEventsRequest(store_id=STORE_ID, edge_id="edge-unchecked", events=journaled)
        response = await servers.observe(ingest.UploadEvents(upload))
    async with aio_channel(f"127.0.0.1:{servers.cloud_port}", servers.admin_token) as channel:
        report = await servers.observe(_arm_report(admin_pb2_grpc.AdminServiceStub(channel)))
    assert not isinstance(response, grpc.aio.AioRpcError)
    assert (response.acknowledged_seq, response.billed_count, response.rejected_count) == (7, 5, 1)
    assert servers.dead_letters() == {"huge-add": "malformed: events[5].quantity must be at most 999"}
    # The largest add the bounds allow is still far past what one shopper adds: invalid traffic
    # (OUT_OF_BOUNDS), kept out of every trip's sales.
    assert response.invalid_count == 1
    assert not isinstance(report, grpc.aio.AioRpcError)
    arm_sales = [arm.sales_micros for lift in report.lifts for arm in lift.arms]
    assert arm_sales == []
    await assert_healthy_end(servers)


async def _arm_report(admin: AdminServiceAsyncStub) -> admin_pb2.RunReportResponse:
    now = datetime.now(UTC)
    return await admin.RunReport(
        admin_pb2.RunReportRequest(
            dimensions=[admin_pb2.REPORT_DIMENSION_EXPERIMENT_ARM],
            start_time=dt_to_ts(now - timedelta(hours=2)),
            end_time=dt_to_ts(now + timedelta(hours=1)),
            layer_id=LAYER,
        )
    )


@pytest.mark.timeout(120)
async def test_a_database_that_is_away_answers_unavailable_and_dead_letters_nothing(servers: Servers) -> None:
    """While the database is away, uploads answer UNAVAILABLE and the journal keeps its events; once it
    is back everything is billed once and nothing was dead-lettered."""
    servers.down_file.touch()
    events = signed_impressions(ORIGIN, servers.key, "away", 10)
    async with cart(servers) as ads:
        request = ReportEventsRequest(store_id=STORE_ID, cart_id="cart-1", events=events)
        assert not isinstance(await servers.observe(ads.ReportEvents(request)), grpc.aio.AioRpcError)
    async with aio_channel(f"127.0.0.1:{servers.cloud_port}", servers.edge_token) as channel:
        direct = UploadEventsRequest(
            store_id=STORE_ID,
            edge_id="edge-direct",
            events=[JournaledEvent(seq=1, event=signed_impressions(ORIGIN, servers.key, "direct", 1)[0])],
        )
        unavailable = await servers.observe(event_ingest_pb2_grpc.EventIngestServiceStub(channel).UploadEvents(direct))
    assert isinstance(unavailable, grpc.aio.AioRpcError)
    assert unavailable.code() == grpc.StatusCode.UNAVAILABLE
    assert servers.journal_depth() == 10
    servers.down_file.unlink()
    await eventually(lambda: asyncio.to_thread(lambda: servers.journal_depth() == 0), timeout_s=30, interval_s=0.1)
    assert servers.ledger_counts() == {e.event_id: 1 for e in events}
    assert servers.dead_letters() == {}
    await assert_healthy_end(servers)


@pytest.mark.timeout(120)
async def test_corrupt_bytes_to_every_cloud_method_of_a_real_process(servers: Servers) -> None:
    """The cloud process answers corrupt bytes to each of its methods with INVALID_ARGUMENT and stays up."""
    async with (
        aio_channel(f"127.0.0.1:{servers.cloud_port}", servers.admin_token) as admin,
        aio_channel(f"127.0.0.1:{servers.cloud_port}", servers.edge_token) as edge_services,
    ):
        for method in contract_methods():
            service = method.containing_service.full_name
            if service not in CLOUD_SERVICES:
                continue
            channel = admin if service.endswith("AdminService") else edge_services
            answer = await servers.observe(send_corrupt_bytes(channel, method))
            assert isinstance(answer, grpc.aio.AioRpcError)
            assert answer.code() == grpc.StatusCode.INVALID_ARGUMENT
    await assert_healthy_end(servers)


@pytest.mark.timeout(120)
async def test_megabyte_ids_make_small_logs_in_both_processes(servers: Servers) -> None:
    """200 GetAds with a 1 MB cart_id to the edge and 200 UploadEvents with a 1 MB edge_id to the cloud:
    each refused with INVALID_ARGUMENT, and each process writes less than 1 MB of log for them."""
    edge_before = sum(len(line) for line in servers.edge.lines)
    cloud_before = sum(len(line) for line in servers.cloud.lines)
    huge = "x" * 1_000_000
    async with cart(servers) as ads:
        for _ in range(200):
            # An enrolled cart's credential with a cart_id no cart has: refused for its size, not its owner.
            request = GetAdsRequest(store_id=STORE_ID, cart_id=huge, cart_credential=servers.credentials["cart-1"])
            answer = await servers.observe(ads.GetAds(request))
            assert isinstance(answer, grpc.aio.AioRpcError)
            assert answer.code() == grpc.StatusCode.INVALID_ARGUMENT
    async with aio_channel(f"127.0.0.1:{servers.cloud_port}", servers.edge_token) as channel:
        ingest = event_ingest_pb2_grpc.EventIngestServiceStub(channel)
        for _ in range(200):
            refusal = await servers.observe(ingest.UploadEvents(UploadEventsRequest(store_id=STORE_ID, edge_id=huge)))
            assert isinstance(refusal, grpc.aio.AioRpcError)
            assert refusal.code() == grpc.StatusCode.INVALID_ARGUMENT
    await assert_healthy_end(servers)
    # Stopped, each process has written every line it had (the edge batches its request lines).
    await servers.edge.stop()
    await servers.cloud.stop()
    assert sum(len(line) for line in servers.edge.lines) - edge_before < 1_000_000
    assert sum(len(line) for line in servers.cloud.lines) - cloud_before < 1_000_000
