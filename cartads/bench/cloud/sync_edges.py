"""Simulated edges for ``cartads-bench sync``: each holds its index in memory, verifies and applies
every update like the real edge (checksum, delta, content hash, references) and ACKs or NACKs it.

``run_edge_worker`` runs a group of them in one process; the benchmark steers it through queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import grpc

from cartads.index.delta import DeltaError, apply_delta
from cartads.rpc.bearer import aio_channel
from cartads.v1.index_pb2 import StoreIndex
from cartads.v1.index_sync_pb2 import StreamIndexRequest, StreamIndexResponse
from cartads.v1.index_sync_pb2_grpc import IndexSyncServiceStub
from edge_node.errors import IndexRejectedError
from edge_node.index.check import IndexCheckError, check_index
from edge_node.sync.update_assembler import Ready, Refused, UpdateAssembler

_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class SimEdge:
    """One edge's stream; ``version`` is what it serves."""

    def __init__(self, store_id: str, edge_id: str, changed: asyncio.Event) -> None:
        self.store_id = store_id
        self.edge_id = edge_id
        self.index: StoreIndex | None = None
        self.version = ""
        self.ack_time_s = 0.0
        # When the first message of the update now served arrived (before verifying and applying it).
        self.receive_time_s = 0.0
        self._receiving_since_s = 0.0
        self.payload_bytes = 0
        self.nacks = 0
        self.kinds: Counter[str] = Counter()
        self._changed = changed

    def _apply(self, step: Ready) -> StoreIndex:
        if step.delta is not None:
            if self.index is None:
                raise IndexRejectedError("delta received but no index is held")
            try:
                merged = apply_delta(self.index, step.delta)
            except DeltaError as exc:
                raise IndexRejectedError(str(exc)) from exc
        else:
            assert step.snapshot is not None
            merged = step.snapshot
        merged.version = check_index(merged, step.version, self.store_id, step.delta)
        return merged

    async def run(self, address: str, token: str) -> None:
        options = [("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES), ("grpc.use_local_subchannel_pool", 1)]
        async with aio_channel(address, token or None, options=options) as channel:
            call = IndexSyncServiceStub(channel).StreamIndex(None)
            await call.write(StreamIndexRequest(store_id=self.store_id, edge_id=self.edge_id, version=self.version))
            assembler = UpdateAssembler(_MAX_MESSAGE_BYTES)
            payload = 0
            while True:
                response = await call.read()
                if response is grpc.aio.EOF:  # type: ignore[attr-defined]
                    return
                assert isinstance(response, StreamIndexResponse)
                if not payload:
                    self._receiving_since_s = time.monotonic()
                payload += len(response.chunk.data) if response.HasField("chunk") else response.ByteSize()
                for step in assembler.feed(response):
                    await call.write(self._answer(step, payload))
                    payload = 0

    def _answer(self, step: Ready | Refused, payload: int) -> StreamIndexRequest:
        reply = StreamIndexRequest(store_id=self.store_id, edge_id=self.edge_id, response_nonce=step.nonce)
        error = step.error if isinstance(step, Refused) else ""
        if isinstance(step, Ready):
            try:
                self.index = self._apply(step)
            except (IndexRejectedError, IndexCheckError) as exc:
                error = str(exc)
            else:
                self.version = step.version
                self.ack_time_s = time.monotonic()
                self.receive_time_s = self._receiving_since_s
                self.payload_bytes = payload
                self.kinds["delta" if step.delta is not None else "full"] += 1
                self._changed.set()
        if error:
            self.nacks += 1
            reply.error_detail = error
        reply.version = self.version
        return reply


@dataclass(frozen=True)
class WorkerSpec:
    """Which edges one worker process simulates, and where the cloud is."""

    address: str
    store_id: str
    first_edge: int
    edge_count: int
    # The store's edge token, sent on every stream as a real edge does.
    token: str = ""


def _forward(commands: Any, loop: asyncio.AbstractEventLoop, pending: asyncio.Queue[dict[str, Any] | None]) -> None:
    # multiprocessing queues block; a thread hands their commands to the event loop.
    for command in iter(commands.get, None):
        loop.call_soon_threadsafe(pending.put_nowait, command)
    loop.call_soon_threadsafe(pending.put_nowait, None)


async def _worker(spec: WorkerSpec, commands: Any, results: Any) -> None:
    changed = asyncio.Event()
    edges = [SimEdge(spec.store_id, f"sim-edge-{spec.first_edge + i:04d}", changed) for i in range(spec.edge_count)]
    tasks = [asyncio.create_task(edge.run(spec.address, spec.token)) for edge in edges]
    pending: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    threading.Thread(target=_forward, args=(commands, asyncio.get_running_loop(), pending), daemon=True).start()
    try:
        while (command := await pending.get()) is not None:
            old = command.get("version", "")

            def reached(edge: SimEdge, old: str = old) -> bool:
                return bool(edge.version) and edge.version != old

            while not all(reached(e) for e in edges):
                failed = [t for t in tasks if t.done()]
                if failed:
                    raise RuntimeError(f"an edge stream ended: {failed[0].exception()!r}")
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 1.0)
            kinds: Counter[str] = Counter()
            for edge in edges:
                kinds.update(edge.kinds)
                edge.kinds.clear()
            results.put(
                {
                    "version": edges[0].version if len({e.version for e in edges}) == 1 else "disagree",
                    "first_ack_s": min(e.ack_time_s for e in edges),
                    "last_ack_s": max(e.ack_time_s for e in edges),
                    "first_receive_s": min(e.receive_time_s for e in edges),
                    "last_receive_s": max(e.receive_time_s for e in edges),
                    "payload_bytes": int(statistics.median(e.payload_bytes for e in edges)),
                    "nacks": sum(e.nacks for e in edges),
                    "kinds": dict(kinds),
                }
            )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def run_edge_worker(spec: WorkerSpec, commands: Any, results: Any) -> None:
    """Process entry point: the spec's simulated edges, until a None command arrives."""
    try:
        asyncio.run(_worker(spec, commands, results))
    except Exception as exc:
        results.put({"error": repr(exc)})
