"""The uploader against a cloud that refuses it: it backs off by doubling and says so at error level."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from structlog.testing import capture_logs

from cartads.v1 import event_ingest_pb2_grpc
from cartads.v1.common_pb2 import CartEvent, EventType
from cartads.v1.event_ingest_pb2 import UploadEventsRequest, UploadEventsResponse
from edge_node.config import EdgeConfig
from edge_node.events.journal import Journal
from edge_node.events.uploader import Uploader


class _TopJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


class _Refusing(event_ingest_pb2_grpc.EventIngestServiceServicer):
    def __init__(self, code: grpc.StatusCode) -> None:
        self.code = code
        self.calls = 0

    async def UploadEvents(self, request: UploadEventsRequest, context: Any) -> UploadEventsResponse:  # noqa: N802
        self.calls += 1
        await context.abort(self.code, "refused by the test")
        raise AssertionError("abort returned")


@contextlib.asynccontextmanager
async def refusing_cloud(code: grpc.StatusCode) -> AsyncIterator[tuple[_Refusing, str]]:
    servicer = _Refusing(code)
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    event_ingest_pb2_grpc.add_EventIngestServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


async def upload_against(tmp_path: Path, code: grpc.StatusCode, failures: int) -> tuple[list[float], list[Any]]:
    """Run an uploader with one journaled event against a cloud refusing with ``code``; its delays and logs."""
    delays: list[float] = []
    enough = asyncio.Event()

    async def sleep(delay_s: float) -> None:
        delays.append(delay_s)
        if len(delays) >= failures:
            enough.set()
            await asyncio.Event().wait()

    async with refusing_cloud(code) as (_, address):
        config = EdgeConfig(
            store_id="s1",
            edge_id="e1",
            cloud_address=address,
            data_dir=str(tmp_path),
            upload_backoff_initial_s=0.2,
            upload_backoff_max_s=5.0,
        )
        journal = Journal.open(config)
        journal.append([CartEvent(event_id="e1", type=EventType.EVENT_TYPE_CHECKOUT, cart_id="c")], 0)
        channel = grpc.aio.insecure_channel(address)
        uploader = Uploader(channel, config, journal, _TopJitter(), sleep=sleep)
        with capture_logs() as logs:
            task = asyncio.create_task(uploader.run())
            try:
                async with asyncio.timeout(20):
                    await enough.wait()
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await channel.close(None)
                journal.close()
    return delays, logs


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT]
)
async def test_refusals_are_logged_at_error_once_per_attempt(tmp_path: Path, code: grpc.StatusCode) -> None:
    """Each refused upload is one error line naming the code."""
    _, logs = await upload_against(tmp_path, code, failures=3)
    assert [(line["log_level"], line["code"]) for line in logs if "code" in line] == [("error", code.name)] * 3


async def test_an_absent_cloud_is_logged_at_info(tmp_path: Path) -> None:
    """UNAVAILABLE is routine: logged at info, not error."""
    _, logs = await upload_against(tmp_path, grpc.StatusCode.UNAVAILABLE, failures=2)
    assert {line["log_level"] for line in logs if "code" in line} == {"info"}


async def test_refused_uploads_back_off_by_doubling(tmp_path: Path) -> None:
    """The delays after consecutive refusals double up to the maximum."""
    delays, _ = await upload_against(tmp_path, grpc.StatusCode.UNAUTHENTICATED, failures=7)
    assert delays == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
