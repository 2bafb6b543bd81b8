"""The index stream backs off after every failure, over real gRPC on loopback, in virtual time.

The client's sleep and clock are injected: each backoff delay is recorded and added to a virtual
clock instead of being slept, so twenty seconds of reconnecting take a fraction of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from structlog.testing import capture_logs

from cartads.v1 import index_sync_pb2_grpc
from cartads.v1.index_sync_pb2 import StreamIndexRequest, StreamIndexResponse
from cloud_core.app.server import start_cloud
from cloud_core.config import CloudConfig
from edge_node.config import EdgeConfig
from edge_node.index.holder import ViewHolder
from edge_node.index.store import IndexStore
from edge_node.sync.client import SyncClient

# With jitter at its top, the delays double from 0.2 s and stop at 5 s.
DOUBLING_TO_MAX = [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]


class _TopJitter(random.Random):
    """Jitter that always picks the top of its range, so delays are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


class _VirtualTime:
    """Records each backoff delay and advances a virtual clock by it; stops the client after ``stop_after``."""

    def __init__(self, stop_after: int) -> None:
        self.now_s = 0.0
        self.delays: list[float] = []
        self.stopped = asyncio.Event()
        self._stop_after = stop_after

    def clock(self) -> float:
        return self.now_s

    async def sleep(self, delay_s: float) -> None:
        self.delays.append(delay_s)
        self.now_s += delay_s
        if len(self.delays) >= self._stop_after:
            self.stopped.set()
            await asyncio.Event().wait()  # the test cancels the client here


class _FlakyCloud(index_sync_pb2_grpc.IndexSyncServiceServicer):
    """Accepts each stream (initial metadata), then aborts it; ``open_s`` of virtual time pass first."""

    def __init__(self, time: _VirtualTime, open_s: float = 0.0) -> None:
        self._time = time
        self._open_s = open_s

    async def StreamIndex(  # noqa: N802
        self, request_iterator: AsyncIterator[StreamIndexRequest], context: Any
    ) -> AsyncIterator[StreamIndexResponse]:
        await context.send_initial_metadata(())
        self._time.now_s += self._open_s
        await context.abort(grpc.StatusCode.UNAVAILABLE, "going away")
        yield StreamIndexResponse()  # never reached: makes this an async generator


@contextlib.asynccontextmanager
async def flaky_cloud(cloud: _FlakyCloud) -> AsyncIterator[str]:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    index_sync_pb2_grpc.add_IndexSyncServiceServicer_to_server(cloud, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


def _config(tmp_path: Path, address: str) -> EdgeConfig:
    return EdgeConfig(
        store_id="s1",
        edge_id="e1",
        cloud_address=address,
        data_dir=str(tmp_path / "edge"),
        sync_backoff_initial_s=0.2,
        sync_backoff_max_s=5.0,
    )


async def run_until_stopped(config: EdgeConfig, time: _VirtualTime) -> SyncClient:
    """Run a sync client against ``config.cloud_address`` until ``time`` has recorded its delays."""
    store = IndexStore.open(config)
    channel = grpc.aio.insecure_channel(config.cloud_address)
    client = SyncClient(channel, config, store, ViewHolder(), _TopJitter(), sleep=time.sleep, clock=time.clock)
    task = asyncio.create_task(client.run())
    try:
        async with asyncio.timeout(20):
            await time.stopped.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await channel.close(None)
        store.close()
    return client


def attempts_within(delays: list[float], window_s: float) -> int:
    """Streams opened within ``window_s`` of the first, given the delays between them."""
    opened_at, count = 0.0, 0
    for delay in [0.0, *delays]:
        opened_at += delay
        if opened_at >= window_s:
            break
        count += 1
    return count


async def test_a_cloud_that_accepts_then_aborts_is_redialled_with_doubling_delays(tmp_path: Path) -> None:
    """Initial metadata followed by an abort is a failure: the delays double to the maximum."""
    time = _VirtualTime(stop_after=8)
    async with flaky_cloud(_FlakyCloud(time)) as address:
        client = await run_until_stopped(_config(tmp_path, address), time)
    assert time.delays == DOUBLING_TO_MAX
    assert client.attempts == 8


async def test_no_cloud_at_all_is_redialled_at_most_eight_times_in_twenty_seconds(tmp_path: Path) -> None:
    """With nothing listening, streams are opened at most 8 times in 20 s (once reset each time: ~120)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    time = _VirtualTime(stop_after=10)
    await run_until_stopped(_config(tmp_path, address), time)
    assert time.delays[:8] == DOUBLING_TO_MAX
    assert attempts_within(time.delays, 20.0) <= 8


async def test_a_refusing_cloud_is_redialled_with_doubling_delays_and_an_error_per_attempt(tmp_path: Path) -> None:
    """A real cloud refusing an edge without a token: delays double, and each refusal is logged at error."""
    cloud = await start_cloud(CloudConfig(db=str(tmp_path / "cloud.sqlite3"), listen_address="127.0.0.1:0"))
    time = _VirtualTime(stop_after=8)
    try:
        with capture_logs() as logs:
            client = await run_until_stopped(_config(tmp_path, f"127.0.0.1:{cloud.port}"), time)
    finally:
        await cloud.stop(grace_s=0.1)
    assert time.delays == DOUBLING_TO_MAX
    refusals = [line for line in logs if line["log_level"] == "error" and line.get("code") == "UNAUTHENTICATED"]
    assert len(refusals) == client.attempts


async def test_a_stream_that_stayed_open_restarts_the_backoff(tmp_path: Path) -> None:
    """After a stream open for sync_healthy_after_s, the next delay is the initial one again."""
    time = _VirtualTime(stop_after=3)
    async with flaky_cloud(_FlakyCloud(time, open_s=31.0)) as address:
        await run_until_stopped(_config(tmp_path, address), time)
    assert time.delays == [0.2, 0.2, 0.2]


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED])
async def test_refused_credentials_are_logged_at_error(tmp_path: Path, code: grpc.StatusCode) -> None:
    """UNAUTHENTICATED and PERMISSION_DENIED from the cloud are both logged at error level."""

    class Refusing(index_sync_pb2_grpc.IndexSyncServiceServicer):
        async def StreamIndex(  # noqa: N802
            self, request_iterator: AsyncIterator[StreamIndexRequest], context: Any
        ) -> AsyncIterator[StreamIndexResponse]:
            await context.abort(code, "not you")
            yield StreamIndexResponse()

    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    index_sync_pb2_grpc.add_IndexSyncServiceServicer_to_server(Refusing(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    time = _VirtualTime(stop_after=2)
    try:
        with capture_logs() as logs:
            await run_until_stopped(_config(tmp_path, f"127.0.0.1:{port}"), time)
    finally:
        await server.stop(None)
    assert [(line["log_level"], line["code"]) for line in logs if "code" in line] == [("error", code.name)] * 2
