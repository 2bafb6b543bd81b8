"""The index sync client: keeps a StreamIndex open to the cloud, applies pushed snapshots, ACKs or NACKs."""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

import grpc
import structlog

from cartads.v1.index_sync_pb2 import StreamIndexRequest, StreamIndexResponse
from cartads.v1.index_sync_pb2_grpc import IndexSyncServiceStub
from edge_node.backoff import Backoff
from edge_node.config import EdgeConfig
from edge_node.errors import IndexRejectedError
from edge_node.holder import ViewHolder
from edge_node.index_store import IndexStore
from edge_node.view import ServingView, build_view

if TYPE_CHECKING:
    from cartads.v1.index_sync_pb2_grpc import IndexSyncServiceAsyncStub

_log = structlog.get_logger("edge.sync")


class SyncClient:
    """Subscribes to this store's index and installs every update that verifies."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        config: EdgeConfig,
        store: IndexStore,
        holder: ViewHolder,
        rng: random.Random | None = None,
    ) -> None:
        self._stub: IndexSyncServiceAsyncStub = IndexSyncServiceStub(channel)
        self._config = config
        self._store = store
        self._holder = holder
        self._backoff = Backoff(config.sync_backoff_initial_s, config.sync_backoff_max_s, rng)
        self.updates_applied = 0
        self.updates_rejected = 0

    async def run(self) -> None:
        """Stay subscribed until cancelled, reconnecting with backoff whenever the stream ends or fails."""
        while True:
            try:
                await self._session()
                _log.info("index stream ended by the cloud")
            except grpc.aio.AioRpcError as exc:
                _log.info("index stream failed", code=exc.code().name, detail=exc.details())
            except Exception:
                # A bug or a closed store must not end syncing for good: log it and reconnect.
                _log.exception("index stream error")
            delay_s = self._backoff.next_delay_s()
            await asyncio.sleep(delay_s)

    def _apply(self, response: StreamIndexResponse) -> ServingView:
        # Runs in a worker thread: verifying, writing LMDB and building the view are all blocking.
        if not response.HasField("snapshot"):
            raise IndexRejectedError("update carries no snapshot")
        index = self._store.apply(response.snapshot, response.version)
        return build_view(index)

    async def _session(self) -> None:
        call = self._stub.StreamIndex(None)
        try:
            await call.write(
                StreamIndexRequest(
                    store_id=self._config.store_id, edge_id=self._config.edge_id, version=self._holder.version
                )
            )
            while True:
                response = await call.read()
                if response is grpc.aio.EOF:  # type: ignore[attr-defined]
                    return
                assert isinstance(response, StreamIndexResponse)
                self._backoff.reset()
                await call.write(await self._answer(response))
        finally:
            call.cancel()

    async def _answer(self, response: StreamIndexResponse) -> StreamIndexRequest:
        answer = StreamIndexRequest(
            store_id=self._config.store_id, edge_id=self._config.edge_id, response_nonce=response.nonce
        )
        held = self._holder.version
        if held and response.version == held:
            # Already serving it (e.g. pushed again after a reconnect): nothing to write.
            answer.version = held
            return answer
        try:
            view = await asyncio.to_thread(self._apply, response)
        except IndexRejectedError as exc:
            self.updates_rejected += 1
            _log.warning("index update rejected", version=response.version, kept=held, why=exc.message)
            answer.version = held
            answer.error_detail = exc.message
            return answer
        self._holder.install(view)
        self.updates_applied += 1
        _log.info("index applied", version=view.version, line_items=len(view.line_items))
        answer.version = view.version
        return answer
