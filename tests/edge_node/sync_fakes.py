"""A scripted index cloud: each test decides exactly which messages an edge's stream receives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc

from cartads.v1 import index_sync_pb2_grpc
from cartads.v1.index_pb2 import StoreIndex
from cartads.v1.index_sync_pb2 import StreamIndexRequest, StreamIndexResponse
from cloud_core.sync.index_cache import encode_snapshot

# Ends the stream with UNAVAILABLE when queued as an outgoing message.
CUT = object()


class ScriptedStream:
    """One edge connection: queue messages to send, read the edge's answers."""

    def __init__(self) -> None:
        self.outgoing: asyncio.Queue[StreamIndexResponse | object] = asyncio.Queue()
        self.answers: asyncio.Queue[StreamIndexRequest] = asyncio.Queue()

    def send(self, *responses: StreamIndexResponse) -> None:
        for response in responses:
            self.outgoing.put_nowait(response)

    def cut(self) -> None:
        """End the stream abruptly after what is already queued."""
        self.outgoing.put_nowait(CUT)

    async def answer(self, timeout_s: float = 5.0) -> StreamIndexRequest:
        async with asyncio.timeout(timeout_s):
            return await self.answers.get()


class ScriptedCloud(index_sync_pb2_grpc.IndexSyncServiceServicer):
    """Hands each new StreamIndex call to the test as a ScriptedStream."""

    def __init__(self) -> None:
        self.streams: asyncio.Queue[ScriptedStream] = asyncio.Queue()

    async def next_stream(self, timeout_s: float = 5.0) -> ScriptedStream:
        async with asyncio.timeout(timeout_s):
            return await self.streams.get()

    async def StreamIndex(  # noqa: N802
        self, request_iterator: AsyncIterator[StreamIndexRequest], context: Any
    ) -> AsyncIterator[StreamIndexResponse]:
        stream = ScriptedStream()

        async def read() -> None:
            async for request in request_iterator:
                await stream.answers.put(request)

        reader = asyncio.create_task(read())
        await context.send_initial_metadata(())
        await self.streams.put(stream)
        try:
            while True:
                item = await stream.outgoing.get()
                if item is CUT:
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "stream cut by the test")
                assert isinstance(item, StreamIndexResponse)
                yield item
        finally:
            reader.cancel()


async def start_scripted_cloud(cloud: ScriptedCloud) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    index_sync_pb2_grpc.add_IndexSyncServiceServicer_to_server(cloud, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


def full_update(index: StoreIndex, nonce: str, chunk_bytes: int = 256) -> list[StreamIndexResponse]:
    """``index`` as the cloud sends it: chunked, with its sha256."""
    return encode_snapshot(index, chunk_bytes).responses(nonce)
