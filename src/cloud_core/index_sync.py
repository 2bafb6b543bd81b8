"""IndexSyncService: pushes each connected edge its store's current index, again after every change."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import structlog

from cartads.v1 import index_pb2, index_sync_pb2, index_sync_pb2_grpc
from cloud_core.compiler import CompileInput, CompileSettings, compile_store_index
from cloud_core.config import CloudConfig
from cloud_core.errors import InvalidArgumentError, NotFoundError, abort_with
from cloud_core.notifier import ChangeNotifier
from cloud_core.rpc import Ctx
from cloud_core.storage.protocol import CloudStore, EdgeStatus
from cloud_core.timeutil import now_us

log = structlog.get_logger("cloud.index_sync")


class IndexBuilder:
    """Loads a store's view (DB thread) and compiles it (worker thread), off the event loop."""

    def __init__(
        self, store: CloudStore, settings: CompileSettings, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock

    async def build(self, store_id: str) -> index_pb2.StoreIndex | None:
        """The store's index now, or None when the store does not exist."""
        view = await self._store.load_store_view(store_id)
        if view is None:
            return None
        inp = CompileInput(
            store=view.store,
            signing_key=view.signing_key,
            aisles=view.aisles,
            departments=view.departments,
            products=view.products,
            campaigns=view.campaigns,
            line_items=view.line_items,
            creatives=view.creatives,
            campaign_spend_micros=view.campaign_spend_micros,
        )
        return await asyncio.to_thread(compile_store_index, inp, self._settings, self._clock())


class IndexSyncServicer(index_sync_pb2_grpc.IndexSyncServiceServicer):
    """One long-lived stream per edge: snapshot on connect, snapshot after each change, ACK/NACK back."""

    def __init__(self, store: CloudStore, notifier: ChangeNotifier, builder: IndexBuilder, config: CloudConfig) -> None:
        self._store = store
        self._notifier = notifier
        self._builder = builder
        self._push_delay_s = config.push_delay_s
        self._refresh_s = config.index_refresh_s

    async def _read_acks(
        self, requests: AsyncIterator[index_sync_pb2.StreamIndexRequest], store_id: str, edge_id: str
    ) -> None:
        async for req in requests:
            acked = not req.error_detail
            await self._store.record_edge_status(
                EdgeStatus(store_id, edge_id, req.version, req.response_nonce, req.error_detail, acked, now_us())
            )
            if acked:
                log.info("index_ack", store_id=store_id, edge_id=edge_id, version=req.version)
            else:
                log.warning(
                    "index_nack", store_id=store_id, edge_id=edge_id, version=req.version, error=req.error_detail
                )

    async def StreamIndex(  # noqa: N802
        self, request_iterator: AsyncIterator[index_sync_pb2.StreamIndexRequest], context: Ctx
    ) -> AsyncIterator[index_sync_pb2.StreamIndexResponse]:
        requests = request_iterator.__aiter__()
        try:
            first = await requests.__anext__()
        except StopAsyncIteration:
            return
        violations = [(name, "is required") for name in ("store_id", "edge_id") if not getattr(first, name)]
        if violations:
            await abort_with(context, InvalidArgumentError(violations))
        store_id, edge_id = first.store_id, first.edge_id
        if await self._store.get_store(store_id) is None:
            await abort_with(context, NotFoundError(f"store {store_id!r} does not exist", "store_id"))
        # Subscribe before the first compile so a change made meanwhile is not missed.
        subscription = self._notifier.subscribe(store_id)
        await self._store.record_edge_status(EdgeStatus(store_id, edge_id, first.version, seen_time_us=now_us()))
        log.info("index_subscribe", store_id=store_id, edge_id=edge_id, version=first.version)
        reader = asyncio.create_task(self._read_acks(requests, store_id, edge_id))
        sent_version = first.version
        waiter: asyncio.Task[bool] | None = None
        try:
            while True:
                index = await self._builder.build(store_id)
                if index is None:
                    await abort_with(context, NotFoundError(f"store {store_id!r} was deleted", "store_id"))
                if index.version != sent_version:
                    sent_version = index.version
                    nonce = secrets.token_hex(8)
                    log.info("index_push", store_id=store_id, edge_id=edge_id, version=index.version, nonce=nonce)
                    yield index_sync_pb2.StreamIndexResponse(version=index.version, nonce=nonce, snapshot=index)
                waiter = asyncio.create_task(subscription.wait(self._refresh_s))
                # Once the edge half-closes its side, keep pushing; a failed read ends the stream.
                watched = {waiter} if reader.done() else {waiter, reader}
                done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                if reader in done and reader.exception() is not None:
                    waiter.cancel()
                    reader.result()
                if waiter not in done:
                    waiter.cancel()
                    continue
                if waiter.result():
                    # Coalesce a burst of changes into one recompile.
                    await asyncio.sleep(self._push_delay_s)
                    subscription.clear()
        finally:
            subscription.close()
            if waiter is not None:
                waiter.cancel()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
