"""The cloud's keepalive (ServerKeepalive): a quiet stream stays open, and one whose peer stopped answering is ended.

A real grpc.aio server, and a client reaching it through a loopback TCP relay that can go silent in
both directions without closing either socket, as a network that drops an edge's packets does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc

from cartads.rpc.keepalive import ServerKeepalive
from cartads.rpc.runtime import server_options

KEEPALIVE_S = 0.3
TIMEOUT_S = 0.3
KEEPALIVE = ServerKeepalive(time_ms=300, timeout_ms=300, min_recv_ping_interval_ms=100)
_METHOD = "/test.Quiet/Hold"


class SilentRelay:
    """Forwards bytes between a client and ``target`` until ``go_silent``; then drops them, sockets open."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.silent = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_writer]
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await source.read(65536):
            if not self.silent:
                sink.write(data)
                await sink.drain()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@contextlib.asynccontextmanager
async def holding_server(options: list[tuple[str, int]]) -> AsyncIterator[tuple[int, asyncio.Event, asyncio.Event]]:
    """A server whose one method holds a server stream open, sending nothing; (port, started, ended)."""
    started, ended = asyncio.Event(), asyncio.Event()

    async def hold(_request: bytes, _context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[bytes]:
        started.set()
        try:
            await asyncio.Event().wait()  # until the call ends, which cancels this handler
        finally:
            ended.set()
        yield b""

    handler = grpc.unary_stream_rpc_method_handler(hold)
    server = grpc.aio.server(options=options)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.Quiet", {"Hold": handler})])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield port, started, ended
    finally:
        await server.stop(grace=None)


async def test_a_peer_that_went_silent_has_its_stream_ended_after_a_quiet_spell() -> None:
    """A stream quiet for several ping intervals stays open; once its peer stops answering, the server ends it."""
    options = [*server_options(), *KEEPALIVE.server_options()]
    async with holding_server(options) as (port, started, ended):
        relay = SilentRelay(port)
        await relay.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{relay.port}") as channel:
                call = channel.unary_stream(_METHOD, None, None)(b"")
                await asyncio.wait_for(started.wait(), 10)
                # The behaviour under test is time passing with no data on the stream: pings go to and
                # fro, and a healthy stream must not be dropped for being quiet.
                await asyncio.sleep(KEEPALIVE_S * 6)
                assert not ended.is_set()
                relay.silent = True
                await asyncio.wait_for(ended.wait(), 10)
                call.cancel()
        finally:
            await relay.stop()


def test_keepalive_is_off_unless_asked_for() -> None:
    """The shared server options set no pings (the edge's cart-facing server has none)."""
    assert not [name for name, _ in server_options() if "keepalive" in name or "pings" in name]
