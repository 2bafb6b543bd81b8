"""Real `cartads-cloud` processes as replicas of one database, and edge-side calls against them:
shared by the tests of several replicas (changes, uploads, revocations reaching every replica)."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc

from cartads.time_units import now_us
from cartads.v1 import index_sync_pb2
from cartads.v1 import index_sync_pb2_grpc as sync_grpc
from cloud_core.access.api_tokens import issue_token
from cloud_core.access.policy import Role
from cloud_core.storage.cloud_store import SqlCloudStore
from tests.cloud_core.helpers import STORE_ID
from tests.sync_helpers import SyncReader

_PORT_LINE = re.compile(rb"listening on port (\d+)")
Call = grpc.aio.StreamStreamCall[index_sync_pb2.StreamIndexRequest, index_sync_pb2.StreamIndexResponse]


@dataclass
class Replica:
    process: asyncio.subprocess.Process
    address: str


@asynccontextmanager
async def replica(dsn: str, replica_id: str, *extra_args: str) -> AsyncIterator[Replica]:
    """A `cartads-cloud` subprocess on ``dsn`` (with ``extra_args``), stopped with SIGTERM afterwards."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cloud_core.app.cli",
        *("--db", dsn, "--listen", "127.0.0.1:0", "--replica-id", replica_id),
        *("--push-delay-s", "0.02", "--log-level", "WARNING"),
        *extra_args,
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert process.stderr is not None
    drain: asyncio.Task[None] | None = None
    try:
        port = 0
        async with asyncio.timeout(60):
            while not port:
                line = await process.stderr.readline()
                if not line:
                    raise AssertionError(f"replica {replica_id} exited before it listened")
                found = _PORT_LINE.search(line)
                port = int(found.group(1)) if found else 0

        async def _drain(stream: asyncio.StreamReader) -> None:
            while await stream.readline():
                pass

        drain = asyncio.create_task(_drain(process.stderr))
        yield Replica(process, f"127.0.0.1:{port}")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        if drain is not None:
            await drain


async def create_token(dsn: str, role: Role, store_id: str = "") -> str:
    """A token's secret, made directly in the database (as `cartads-cloud create-token` does)."""
    store = await SqlCloudStore.open(dsn)
    try:
        _, secret = await issue_token(store.tokens, role, now_us(), store_id=store_id)
    finally:
        await store.close()
    return secret


async def subscribe(channel: grpc.aio.Channel, version: str = "") -> tuple[Call, SyncReader]:
    call: Call = sync_grpc.IndexSyncServiceStub(channel).StreamIndex(None)
    await call.write(index_sync_pb2.StreamIndexRequest(store_id=STORE_ID, edge_id="edge-1", version=version))
    return call, SyncReader(call)
