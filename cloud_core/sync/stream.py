"""One edge's index stream, xDS style: push the current version as a delta or a chunked snapshot,
one update in flight at a time, and track the edge's ACKs and NACKs by nonce."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

import structlog

from cartads.index.delta import delta_is_empty
from cartads.time_units import now_us
from cartads.v1 import index_pb2, index_sync_pb2
from cloud_core.storage.protocol import EdgeStatusStore
from cloud_core.sync.index_cache import IndexCache
from cloud_core.sync.notifier import ChangeSubscription

log = structlog.get_logger("cloud.index_sync")


class StoreGoneError(Exception):
    """The store was deleted while an edge was subscribed."""


@dataclass(frozen=True)
class StreamSettings:
    """How a stream paces pushes; see CloudConfig."""

    push_delay_s: float
    refresh_s: float


@dataclass
class _Pending:
    nonce: str
    version: str
    is_delta: bool


class IndexStream:
    """The state of one subscription; ``updates()`` yields what to send until the stream ends."""

    def __init__(
        self,
        *,
        store_id: str,
        edge_id: str,
        held_version: str,
        requests: AsyncIterator[index_sync_pb2.StreamIndexRequest],
        cache: IndexCache,
        subscription: ChangeSubscription,
        status: EdgeStatusStore,
        settings: StreamSettings,
    ) -> None:
        self.store_id = store_id
        self.edge_id = edge_id
        self._edge_version = held_version
        self._requests = requests
        self._cache = cache
        self._subscription = subscription
        self._status = status
        self._settings = settings
        self._pending: _Pending | None = None
        # After a NACK of a full snapshot, that version is not sent again; a new version will be.
        self._refused_version = ""
        self._force_full = False
        self._answers: asyncio.Queue[index_sync_pb2.StreamIndexRequest] = asyncio.Queue()
        self._half_closed = False

    async def _read(self) -> None:
        async for request in self._requests:
            await self._answers.put(request)
        # The edge closed its side: it can no longer answer, so pushes stop waiting for answers.
        self._half_closed = True
        await self._answers.put(index_sync_pb2.StreamIndexRequest())

    async def _handle_answer(self, answer: index_sync_pb2.StreamIndexRequest) -> None:
        pending = self._pending
        if self._half_closed and not answer.response_nonce:
            if pending is not None:
                self._edge_version, self._pending = pending.version, None
            return
        if pending is None or answer.response_nonce != pending.nonce:
            # xDS: an answer to an update that is no longer the latest says nothing about the current one.
            log.info("index_stale_answer", store_id=self.store_id, edge_id=self.edge_id, nonce=answer.response_nonce)
            return
        self._pending = None
        self._edge_version = answer.version
        refused = "" if not answer.error_detail else pending.version
        await self._status.edge_answered(
            self.store_id,
            self.edge_id,
            version=answer.version,
            nonce=answer.response_nonce,
            error=answer.error_detail,
            refused_version=refused,
            now_us=now_us(),
        )
        if not answer.error_detail:
            self._refused_version, self._force_full = "", False
            log.info("index_ack", store_id=self.store_id, edge_id=self.edge_id, version=answer.version)
            return
        log.warning(
            "index_nack",
            store_id=self.store_id,
            edge_id=self.edge_id,
            kept=answer.version,
            refused=pending.version,
            error=answer.error_detail,
        )
        if pending.is_delta:
            # The edge could not apply the delta: give it the whole index instead.
            self._force_full = True
        else:
            self._refused_version = pending.version

    def _encode(self, index: index_pb2.StoreIndex) -> tuple[list[index_sync_pb2.StreamIndexResponse], bool]:
        nonce = secrets.token_hex(8)
        if self._edge_version and not self._force_full:
            delta = self._cache.delta(self.store_id, self._edge_version, index)
            # A delta larger than half the snapshot (or one chunk) saves nothing worth its risk.
            if delta is not None and not delta_is_empty(delta):
                size = delta.ByteSize()
                if size * 2 < self._cache.size_bytes(self.store_id, index) and size <= self._cache.chunk_bytes:
                    response = index_sync_pb2.StreamIndexResponse(version=index.version, nonce=nonce, delta=delta)
                    return [response], True
        return self._cache.snapshot(self.store_id, index).responses(nonce), False

    async def updates(self) -> AsyncGenerator[index_sync_pb2.StreamIndexResponse]:
        """The messages to send to the edge, until the store is deleted or the edge's side fails."""
        reader = asyncio.create_task(self._read())
        answer: asyncio.Task[index_sync_pb2.StreamIndexRequest] | None = None
        waiter: asyncio.Task[bool] | None = None
        max_age_s = float("inf")
        try:
            while True:
                index = await self._cache.current(self.store_id, max_age_s)
                max_age_s = float("inf")
                if index is None:
                    raise StoreGoneError(self.store_id)
                wanted = index.version not in (self._edge_version, self._refused_version)
                if self._pending is None and wanted:
                    messages, is_delta = self._encode(index)
                    self._pending = _Pending(messages[0].nonce, index.version, is_delta)
                    await self._status.edge_update_sent(
                        self.store_id, self.edge_id, index.version, messages[0].nonce, now_us()
                    )
                    log.info(
                        "index_push",
                        store_id=self.store_id,
                        edge_id=self.edge_id,
                        version=index.version,
                        base=self._edge_version,
                        kind="delta" if is_delta else "full",
                        messages=len(messages),
                    )
                    for message in messages:
                        yield message
                    if self._half_closed:
                        self._edge_version, self._pending = index.version, None
                # A task that finished while we were compiling keeps its result until it is handled here.
                if answer is None:
                    answer = asyncio.create_task(self._answers.get())
                if waiter is None:
                    waiter = asyncio.create_task(self._subscription.wait(self._settings.refresh_s))
                watched = {answer, waiter} if reader.done() else {answer, waiter, reader}
                done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                if reader in done and reader.exception() is not None:
                    reader.result()
                if answer in done:
                    received, answer = answer.result(), None
                    await self._handle_answer(received)
                if waiter in done:
                    signalled, waiter = waiter.result(), None
                    if signalled:
                        # Coalesce a burst of changes into one compile and one push.
                        await asyncio.sleep(self._settings.push_delay_s)
                        self._subscription.clear()
                    else:
                        # Quiet for a while: recompile anyway so budget allowances stay fresh.
                        max_age_s = self._settings.refresh_s / 2
        finally:
            for task in (answer, waiter, reader):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
