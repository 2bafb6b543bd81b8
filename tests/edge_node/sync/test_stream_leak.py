"""Index streams that end leave nothing behind: no pending grpc task, no unclosed generator.

The edge's channel carries the bearer token through a client interceptor; with one, grpc.aio feeds
a stream's writes from a task of its own (``_consume_request_iterator``), which used to outlive
every stream the cloud ended, and be reported at garbage collection, once per stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from pathlib import Path
from typing import Any

from cartads.rpc.bearer import aio_channel
from edge_node.index.holder import ViewHolder
from edge_node.index.store import IndexStore
from edge_node.sync.client import SyncClient
from tests.edge_node.sync.test_sync_backoff import _config, _FlakyCloud, _TopJitter, _VirtualTime, flaky_cloud

RESTARTS = 25


def _consumers() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if "_consume_request_iterator" in repr(t.get_coro())]


async def test_many_ended_streams_leave_no_pending_task_or_gc_report(tmp_path: Path) -> None:
    """After 25 streams ended by the cloud, every request consumer has finished and gc reports nothing."""
    loop = asyncio.get_running_loop()
    reports: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reports.append(context))
    time = _VirtualTime(stop_after=RESTARTS)
    try:
        async with flaky_cloud(_FlakyCloud(time)) as address:
            config = _config(tmp_path, address)
            store = IndexStore.open(config)
            # A token: the interceptor is what made grpc.aio own the writes.
            channel = aio_channel(address, "edge-token")
            client = SyncClient(channel, config, store, ViewHolder(), _TopJitter(), sleep=time.sleep, clock=time.clock)
            task = asyncio.create_task(client.run())
            try:
                async with asyncio.timeout(20):
                    await time.stopped.wait()
                consumers = _consumers()
                if consumers:
                    # Each finishes within a turn or two of its stream's end; one left pending is the leak.
                    await asyncio.wait(consumers, timeout=5)
                pending = [t for t in consumers if not t.done()]
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await channel.close(None)
                store.close()
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert client.attempts == RESTARTS
    assert pending == []
    assert [c.get("message") for c in reports] == []
