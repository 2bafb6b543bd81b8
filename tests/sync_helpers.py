"""Reading index updates off a StreamIndex call the way an edge does, for tests and checks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from cartads.index.delta import apply_delta
from cartads.index.version import content_version
from cartads.v1 import index_pb2, index_sync_pb2
from edge_node.sync.update_assembler import Ready, UpdateAssembler


@dataclass(frozen=True)
class Update:
    """One whole update as received, and the index it leads to."""

    version: str
    nonce: str
    index: index_pb2.StoreIndex
    # "full" or "delta"
    kind: str
    # Bytes of payload on the wire: the chunks' data, or the delta message.
    payload_bytes: int


class SyncReader:
    """Follows one StreamIndex call like an edge: reassembles chunks, applies deltas, checks versions."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.index: index_pb2.StoreIndex | None = None
        self._assembler = UpdateAssembler(max_index_bytes=1 << 30)

    async def next(self, timeout_s: float = 5.0) -> Update:
        """The next whole update; raises AssertionError if it does not verify."""
        payload = 0
        async with asyncio.timeout(timeout_s):
            while True:
                response = await self.call.read()
                assert isinstance(response, index_sync_pb2.StreamIndexResponse), response
                payload += len(response.chunk.data) if response.HasField("chunk") else response.ByteSize()
                for step in self._assembler.feed(response):
                    assert isinstance(step, Ready), step
                    return self._install(step, payload)

    def _install(self, step: Ready, payload: int) -> Update:
        if step.delta is not None:
            assert self.index is not None, "delta before any snapshot"
            index, kind = apply_delta(self.index, step.delta), "delta"
        else:
            assert step.snapshot is not None
            index, kind = step.snapshot, "full"
        assert content_version(index) == step.version, "update does not hash to its version"
        index.version = step.version
        self.index = index
        return Update(step.version, step.nonce, index, kind, payload)
