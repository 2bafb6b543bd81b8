"""The cloud link ends a retry delay when the channel reconnects, and only then."""

from __future__ import annotations

import asyncio
import contextlib
import time

import grpc

from cartads.rpc.keepalive import ClientKeepalive
from edge_node.cloud_link.link import CloudLink
from tests.integration.server_processes import free_port


async def test_a_pause_ends_soon_after_the_cloud_comes_back() -> None:
    """A 30 s retry delay begun while nothing listens ends within 3 s of a server starting on the port."""
    port = free_port()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=ClientKeepalive().channel_options()) as channel:
        link = CloudLink(channel)
        watcher = asyncio.create_task(link.run())
        try:
            pause = asyncio.create_task(link.pause(30.0))
            server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
            server.add_insecure_port(f"127.0.0.1:{port}")
            await server.start()
            started = time.monotonic()
            try:
                await asyncio.wait_for(pause, timeout=10)
                woke_after_s = time.monotonic() - started
                assert link.ready
            finally:
                await server.stop(None)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    assert woke_after_s < 3.0


async def test_a_pause_on_a_connected_channel_lasts_its_whole_delay() -> None:
    """Connected already (a cloud that refuses, not a lost link): the pause is not cut short."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await asyncio.wait_for(channel.channel_ready(), timeout=10)
            link = CloudLink(channel)
            watcher = asyncio.create_task(link.run())
            try:
                started = time.monotonic()
                await link.pause(0.3)
                assert time.monotonic() - started >= 0.29
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
    finally:
        await server.stop(None)
