"""One edge's index stream, xDS style: the shell around IndexStreamState. It reads the edge's
answers, the clock and ``secrets``, feeds them to the machine, and performs its decisions: store
writes, logs, and the updates to push (a delta or a chunked snapshot)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import structlog

from cartads.index.delta import delta_is_empty
from cartads.rpc.errors import InvalidArgumentError
from cartads.time_units import now_us
from cartads.v1 import index_pb2, index_sync_pb2
from cloud_core.storage.protocol import EdgeStatusStore
from cloud_core.sync.index_cache import IndexCache
from cloud_core.sync.notifier import ChangeSubscription
from cloud_core.sync.stream_state import (
    IgnoreStaleAnswer,
    IndexStreamState,
    Reject,
    SendUpdate,
    UpdateKind,
    delta_worth_sending,
)

log = structlog.get_logger("cloud.index_sync")


class StoreGoneError(Exception):
    """The store was deleted while an edge was subscribed."""


class KeyRevokedError(Exception):
    """The key the edge registered on this stream was revoked while it was subscribed."""


@dataclass(frozen=True)
class StreamSettings:
    """How a stream paces pushes; see CloudConfig."""

    push_delay_s: float
    refresh_s: float


class IndexStream:
    """One subscription's I/O; ``updates()`` yields what to send until the stream ends.

    ``state`` must be subscribed already (the servicer fed it the edge's hello).
    """

    def __init__(
        self,
        *,
        state: IndexStreamState,
        requests: AsyncIterator[index_sync_pb2.StreamIndexRequest],
        cache: IndexCache,
        subscription: ChangeSubscription,
        status: EdgeStatusStore,
        settings: StreamSettings,
        on_send: Callable[[index_pb2.StoreIndex], Awaitable[None]] | None = None,
        key_valid: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.store_id = state.store_id
        self.edge_id = state.edge_id
        self._state = state
        self._requests = requests
        self._cache = cache
        self._subscription = subscription
        self._status = status
        self._settings = settings
        # Runs before a version is sent (it records the version's terms): no edge holds a version
        # whose terms the cloud did not record first.
        self._on_send = on_send
        # Asked after every change signalled to the store (a revocation signals one): False ends the
        # stream, so the edge makes a new key at once instead of signing on with a revoked one.
        self._key_valid = key_valid
        # None marks the end of the edge's side of the stream.
        self._answers: asyncio.Queue[index_sync_pb2.StreamIndexRequest | None] = asyncio.Queue()

    async def _read(self) -> None:
        async for request in self._requests:
            await self._answers.put(request)
        await self._answers.put(None)

    async def _handle_answer(self, answer: index_sync_pb2.StreamIndexRequest | None) -> None:
        if answer is None:
            self._state.on_edge_done_sending()
            return
        decision = self._state.on_answer(answer.version, answer.response_nonce, answer.error_detail, now_us())
        if isinstance(decision, Reject):
            raise InvalidArgumentError(decision.violations)
        if isinstance(decision, IgnoreStaleAnswer):
            log.info("index_stale_answer", store_id=self.store_id, edge_id=self.edge_id, nonce=decision.nonce)
            return
        await self._status.edge_answered(
            decision.store_id,
            decision.edge_id,
            version=decision.version,
            nonce=decision.nonce,
            error=decision.error,
            refused_version=decision.refused_version,
            now_us=decision.now_us,
        )
        if decision.is_ack:
            log.info("index_ack", store_id=self.store_id, edge_id=self.edge_id, version=decision.version)
            return
        log.warning(
            "index_nack",
            store_id=self.store_id,
            edge_id=self.edge_id,
            kept=decision.version,
            refused=decision.refused_version,
            error=decision.error,
        )

    async def _encode(
        self, index: index_pb2.StoreIndex, push: SendUpdate, nonce: str
    ) -> tuple[list[index_sync_pb2.StreamIndexResponse], UpdateKind]:
        if push.base_version:
            delta = await self._cache.delta(self.store_id, push.base_version, index)
            if delta is not None and not delta_is_empty(delta):
                size = self._cache.size_bytes(self.store_id, index)
                if delta_worth_sending(delta.ByteSize(), size, self._cache.chunk_bytes):
                    response = index_sync_pb2.StreamIndexResponse(version=index.version, nonce=nonce, delta=delta)
                    return [response], UpdateKind.DELTA
        return self._cache.snapshot(self.store_id, index).responses(nonce), UpdateKind.FULL

    async def _push(self, index: index_pb2.StoreIndex, push: SendUpdate) -> list[index_sync_pb2.StreamIndexResponse]:
        if self._on_send is not None:
            await self._on_send(index)
        nonce = secrets.token_hex(8)
        messages, kind = await self._encode(index, push, nonce)
        sent = self._state.on_update_sent(index.version, nonce, kind, now_us())
        await self._status.edge_update_sent(sent.store_id, sent.edge_id, sent.version, sent.nonce, sent.now_us)
        log.info(
            "index_push",
            store_id=self.store_id,
            edge_id=self.edge_id,
            version=sent.version,
            base=sent.held_version,
            kind=sent.kind.value,
            messages=len(messages),
        )
        return messages

    async def updates(self) -> AsyncGenerator[index_sync_pb2.StreamIndexResponse]:
        """The messages to send to the edge, until the store is deleted or the edge's side fails."""
        reader = asyncio.create_task(self._read())
        answer: asyncio.Task[index_sync_pb2.StreamIndexRequest | None] | None = None
        waiter: asyncio.Task[bool] | None = None
        max_age_s = float("inf")
        try:
            while True:
                version = await self._cache.current_version_of(self.store_id, max_age_s)
                max_age_s = float("inf")
                if version is None:
                    self._state.on_store_deleted()
                    raise StoreGoneError(self.store_id)
                push = self._state.on_version(version)
                if push is not None:
                    # Loaded only to push: an edge that holds the current version costs no memory.
                    index = await self._cache.version(self.store_id, version)
                    if index is None:
                        # Gone from memory and from the database since: the next turn compiles afresh
                        # (and the machine takes the next version it is given as a new offer).
                        self._cache.forget(self.store_id)
                        continue
                    messages = await self._push(index, push)
                    del index
                    # Popped as sent, so no chunk stays referenced while the stream waits.
                    while messages:
                        yield messages.pop(0)
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
                        # Checked after the clear: a revocation signalled during the pause, coalesced
                        # into another change's signal, is seen now rather than lost with it.
                        if self._key_valid is not None and not await self._key_valid():
                            raise KeyRevokedError(self.edge_id)
                    else:
                        # Quiet for a while: recompile anyway so budget allowances stay fresh.
                        max_age_s = self._settings.refresh_s / 2
        finally:
            for task in (answer, waiter, reader):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
