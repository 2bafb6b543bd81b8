"""Fault tests of exactly-once billing: SIGKILLed edges and clouds, a journal at its limit.

SLOW: the edge kill test restarts a `python -m edge_node.app.cli` process 20 times (about 20-40 s on a
2-vCPU machine); the cloud kill test restarts `python -m cloud_core.app.cli` 5 times. Every event whose
ReportEvents call returned OK must end up billed exactly once: 0 lost, 0 duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest

from cartads.bench.cloud.signed_events import signed_impressions
from cartads.rpc.bearer import aio_channel
from cartads.v1 import ad_service_pb2_grpc, admin_pb2_grpc
from cartads.v1.ad_service_pb2 import ReportEventsRequest
from cartads.v1.common_pb2 import CartEvent
from cloud_core.access.policy import Role
from cloud_core.app.server import start_cloud
from cloud_core.config import CloudConfig
from edge_node.app.server import start_edge
from tests.cart_credentials import ad_channel, enroll_cart, fixed_credentials
from tests.cloud_core.helpers import STORE_ID, seed
from tests.edge_node.helpers import edge_config
from tests.eventually import eventually
from tests.integration.server_processes import ORIGIN, create_token_cli, free_port, signing_key

if TYPE_CHECKING:
    from cartads.v1.ad_service_pb2_grpc import AdServiceAsyncStub

EDGE_KILLS = 20
CLOUD_KILLS = 5
CALLERS = 6
EVENTS_PER_CALL = 5


def ledger_counts(db_path: Path) -> dict[str, int]:
    """Ledger entries per event id, read through a separate connection (WAL allows it)."""
    with contextlib.closing(sqlite3.connect(db_path, timeout=30)) as conn:
        return {str(r[0]): int(r[1]) for r in conn.execute("SELECT event_id, COUNT(*) FROM ledger GROUP BY event_id")}


def impressions(key: bytes, prefix: str) -> list[CartEvent]:
    return signed_impressions(ORIGIN, key, f"ad-{prefix}", EVENTS_PER_CALL)


async def report_until_failure(stub: AdServiceAsyncStub, key: bytes, prefix: str, ok: set[str]) -> None:
    """Report batches until a call fails; remember the ids of every call that returned OK."""
    n = 0
    while True:
        events = impressions(key, f"{prefix}-{n}")
        try:
            await stub.ReportEvents(ReportEventsRequest(store_id=STORE_ID, cart_id="cart-1", events=events), timeout=5)
        except grpc.aio.AioRpcError:
            return
        ok.update(e.event_id for e in events)
        n += 1


async def wait_until_billed(db_path: Path, ok: set[str], timeout_s: float) -> dict[str, int]:
    """The ledger's entries per event id once every event in ``ok`` has one (another process writes it)."""

    async def counts_once_billed() -> dict[str, int] | None:
        counts = await asyncio.to_thread(ledger_counts, db_path)
        return counts if ok <= counts.keys() else None

    return await eventually(
        counts_once_billed, timeout_s=timeout_s, interval_s=0.2, what=f"all {len(ok)} OK'd events billed"
    )


class Process:
    """A child process whose first matching output line names its port."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, args: list[str], *, stream: str, marker: str) -> tuple[Process, int]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            stdout=asyncio.subprocess.PIPE if stream == "stdout" else asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE if stream == "stderr" else asyncio.subprocess.DEVNULL,
            env={**os.environ, "CARTADS_LOG_LEVEL": "WARNING"},
        )
        reader = proc.stdout if stream == "stdout" else proc.stderr
        assert reader is not None
        async with asyncio.timeout(30):
            while True:
                line = (await reader.readline()).decode()
                if not line:
                    raise RuntimeError(f"{args[1]} exited before it listened")
                if marker in line:
                    # Keep draining so the child never blocks on a full pipe.
                    asyncio.get_running_loop().create_task(_drain(reader))
                    return cls(proc), int(line.split()[-1])

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(10):
                await self.proc.wait()
        except TimeoutError:
            await self.kill()


async def _drain(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(Exception):
        while await reader.read(65536):
            pass


@contextlib.asynccontextmanager
async def ad_stub(port: int, credential: str) -> AsyncIterator[AdServiceAsyncStub]:
    """An AdService client whose calls carry cart-1's enrolled credential."""
    channel = ad_channel(f"127.0.0.1:{port}", fixed_credentials({"cart-1": credential}))
    try:
        yield ad_service_pb2_grpc.AdServiceStub(channel)
    finally:
        await channel.close(None)


@pytest.mark.timeout(180)
async def test_edge_killed_at_random_points_bills_every_ok_event_once(tmp_path: Path) -> None:
    """SLOW (~30 s). SIGKILL the edge 20 times under load: every OK'd event is billed exactly once."""
    db_path = tmp_path / "cloud.sqlite3"
    cloud = await start_cloud(CloudConfig(db=str(db_path), listen_address="127.0.0.1:0"))
    rng = random.Random(20)
    ok: set[str] = set()
    token_file = tmp_path / "edge.token"
    token_file.write_text(await cloud.mint_token(Role.EDGE, store_id=STORE_ID) + "\n")
    edge_args = [
        "-m",
        "edge_node.app.cli",
        "--store",
        STORE_ID,
        "--edge-id",
        "edge-1",
        "--cloud",
        f"127.0.0.1:{cloud.port}",
        "--data-dir",
        str(tmp_path / "edge"),
        "--listen",
        "127.0.0.1:0",
        "--cloud-token-file",
        str(token_file),
    ]
    try:
        async with contextlib.AsyncExitStack() as stack:
            admin_channel = aio_channel(f"127.0.0.1:{cloud.port}", await cloud.mint_token(Role.ADMIN))
            stack.push_async_callback(admin_channel.close, None)
            admin = admin_pb2_grpc.AdminServiceStub(admin_channel)
            await seed(admin, budget_micros=10**12)
            credential = await enroll_cart(admin, STORE_ID, "cart-1")
        key = signing_key(db_path)
        for round_no in range(EDGE_KILLS):
            edge, port = await Process.start(edge_args, stream="stdout", marker="serving store")
            async with ad_stub(port, credential) as stub:
                callers = [
                    asyncio.create_task(report_until_failure(stub, key, f"r{round_no}c{c}", ok)) for c in range(CALLERS)
                ]
                # Not a wait for anything: the kill lands at a random point of the load.
                await asyncio.sleep(rng.uniform(0.05, 0.6))
                await edge.kill()
                await asyncio.gather(*callers)
        edge, port = await Process.start(edge_args, stream="stdout", marker="serving store")
        try:
            counts = await wait_until_billed(db_path, ok, timeout_s=60)
        finally:
            await edge.terminate()
    finally:
        await cloud.stop(grace_s=0.5)
    assert len(ok) > EDGE_KILLS * EVENTS_PER_CALL
    assert {e: n for e, n in counts.items() if n != 1} == {}
    assert ok <= counts.keys()


@pytest.mark.timeout(180)
async def test_cloud_killed_mid_ingest_bills_every_ok_event_once(tmp_path: Path) -> None:
    """SLOW (~15 s). SIGKILL the cloud 5 times while the edge uploads: every OK'd event is billed once."""
    db_path = tmp_path / "cloud.sqlite3"
    cloud_port = free_port()
    cloud_args = ["-m", "cloud_core.app.cli", "--db", str(db_path), "--listen", f"127.0.0.1:{cloud_port}"]
    cloud, _ = await Process.start(cloud_args, stream="stderr", marker="listening on port")
    admin_channel = aio_channel(f"127.0.0.1:{cloud_port}", await create_token_cli(db_path, "--role", "admin"))
    try:
        admin = admin_pb2_grpc.AdminServiceStub(admin_channel)
        await seed(admin, budget_micros=10**12)
        credential = await enroll_cart(admin, STORE_ID, "cart-1")
    finally:
        await admin_channel.close(None)
    key = signing_key(db_path)
    config = edge_config(
        tmp_path,
        cloud_port,
        store_id=STORE_ID,
        cloud_token=await create_token_cli(db_path, "--role", "edge", "--store", STORE_ID),
        upload_batch_max_events=40,
        upload_interval_s=0.02,
        upload_backoff_initial_s=0.02,
        upload_backoff_max_s=0.2,
        sync_backoff_initial_s=0.05,
        sync_backoff_max_s=0.2,
    )
    edge = await start_edge(config)
    await edge.wait_for_index(timeout_s=10)  # the cart's credential is checked against it
    rng = random.Random(7)
    ok: set[str] = set()
    try:
        async with ad_stub(edge.port, credential) as stub:
            for round_no in range(CLOUD_KILLS):
                for batch in range(20):
                    events = impressions(key, f"k{round_no}b{batch}")
                    await stub.ReportEvents(ReportEventsRequest(store_id=STORE_ID, cart_id="cart-1", events=events))
                    ok.update(e.event_id for e in events)
                # Not a wait for anything: the kill lands at a random point of the uploads.
                await asyncio.sleep(rng.uniform(0.0, 0.15))
                await cloud.kill()
                cloud, _ = await Process.start(cloud_args, stream="stderr", marker="listening on port")
        await edge.wait_for_upload(timeout_s=60)
        counts = await wait_until_billed(db_path, ok, timeout_s=30)
    finally:
        await edge.stop(grace_s=0.2)
        await cloud.terminate()
    assert {e: n for e, n in counts.items() if n != 1} == {}
    assert ok <= counts.keys()


async def test_full_journal_refuses_explicitly_and_drains_when_the_cloud_returns(tmp_path: Path) -> None:
    """With the cloud down the journal fills to its limit and says so; nothing OK'd is lost or doubled."""
    db_path = tmp_path / "cloud.sqlite3"
    cloud_config = CloudConfig(db=str(db_path), listen_address="127.0.0.1:0")
    cloud = await start_cloud(cloud_config)
    cloud_port = cloud.port
    admin_channel = aio_channel(f"127.0.0.1:{cloud_port}", await cloud.mint_token(Role.ADMIN))
    try:
        admin = admin_pb2_grpc.AdminServiceStub(admin_channel)
        await seed(admin, budget_micros=10**12)
        credential = await enroll_cart(admin, STORE_ID, "cart-1")
    finally:
        await admin_channel.close(None)
    key = signing_key(db_path)
    edge_token = await cloud.mint_token(Role.EDGE, store_id=STORE_ID)
    config = edge_config(
        tmp_path,
        cloud_port,
        store_id=STORE_ID,
        cloud_token=edge_token,
        journal_soft_limit_bytes=2_000,
        journal_hard_limit_bytes=5_000,
        upload_interval_s=0.02,
        upload_backoff_initial_s=0.02,
        upload_backoff_max_s=0.1,
    )
    edge = await start_edge(config)
    # The edge holds the store's index (with the enrolled cart) before the cloud goes away.
    await edge.wait_for_index(timeout_s=10)
    await cloud.stop(grace_s=0.1)
    ok: set[str] = set()
    refused: list[grpc.StatusCode] = []
    try:
        async with ad_stub(edge.port, credential) as stub:
            for n in range(15):
                events = impressions(key, f"f{n}")
                try:
                    await stub.ReportEvents(ReportEventsRequest(store_id=STORE_ID, cart_id="cart-1", events=events))
                except grpc.aio.AioRpcError as exc:
                    refused.append(exc.code())
                    continue
                ok.update(e.event_id for e in events)
        assert edge.journal_depth() == len(ok)
        assert edge.journal_unsent_bytes() <= 5_000
        cloud = await start_cloud(CloudConfig(db=str(db_path), listen_address=f"127.0.0.1:{cloud_port}"))
        await edge.wait_for_upload(timeout_s=30)
        counts = await asyncio.to_thread(ledger_counts, db_path)
    finally:
        await edge.stop(grace_s=0.2)
        await cloud.stop(grace_s=0.2)
    assert refused
    assert set(refused) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert len(ok) >= 10
    assert {e: n for e, n in counts.items() if n != 1} == {}
    assert ok <= counts.keys()
