"""The index sync client: keeps a StreamIndex open to the cloud, applies pushed snapshots and deltas,
ACKs or NACKs each update."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import grpc
import structlog

from cartads import bounds
from cartads.ops.logs import clip
from cartads.rpc.bidi import RequestStream
from cartads.v1.index_sync_pb2 import EdgeSigningKey, StreamIndexRequest, StreamIndexResponse
from cartads.v1.index_sync_pb2_grpc import IndexSyncServiceStub
from edge_node.cloud_link.backoff import Backoff
from edge_node.cloud_link.refusals import CREDENTIAL_REFUSALS, log_call_failure
from edge_node.config import EdgeConfig
from edge_node.errors import IndexRejectedError
from edge_node.index.holder import ViewHolder
from edge_node.index.store import IndexStore
from edge_node.index.view import ServingView, build_view
from edge_node.sync.signing_keys import Keyring
from edge_node.sync.state import SyncState
from edge_node.sync.update_assembler import Ready, Refused, Step, UpdateAssembler

if TYPE_CHECKING:
    from cartads.v1.index_sync_pb2_grpc import IndexSyncServiceAsyncStub

_log = structlog.get_logger("edge.sync")
# A revoked or conflicting signing key is refused like a credential: logged at error.
_REFUSALS = CREDENTIAL_REFUSALS | {grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ALREADY_EXISTS}
_REVOKED = "SIGNING_KEY_REVOKED"


def key_refused(error: grpc.aio.AioRpcError) -> bool:
    """Whether the cloud ended the stream because of this edge's signing key: revoked, or its id taken
    by another edge (a disk copied to a second box): either way the edge needs a new key."""
    if error.code() == grpc.StatusCode.ALREADY_EXISTS:
        return "signing key" in (error.details() or "")
    return error.code() == grpc.StatusCode.FAILED_PRECONDITION and _REVOKED in (error.details() or "")


class SyncClient:
    """Subscribes to this store's index and installs every update that verifies."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        config: EdgeConfig,
        store: IndexStore,
        holder: ViewHolder,
        rng: random.Random | None = None,
        *,
        prepare: Callable[[Ready], Awaitable[None]] | None = None,
        keyring: Keyring | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stub: IndexSyncServiceAsyncStub = IndexSyncServiceStub(channel)
        # Runs before an update is applied (edge_node/assets/sync.py fetches its images); raising
        # IndexRejectedError NACKs the update and keeps the old index.
        self._prepare = prepare
        # This edge's own token keys, registered on every stream (None: sign with the index's key).
        self._keyring = keyring
        if keyring is not None:
            holder.keys = keyring.current
        self._config = config
        self._store = store
        self._holder = holder
        self._backoff = Backoff(config.sync_backoff_initial_s, config.sync_backoff_max_s, rng)
        self._sleep = sleep
        self._clock = clock
        # Streams opened (each after the backoff delay of the one before).
        self.attempts = 0
        self.updates_applied = 0
        self.updates_rejected = 0
        # Of updates_applied, how many were deltas (the rest were whole snapshots).
        self.deltas_applied = 0
        self.state = SyncState()

    async def run(self) -> None:
        """Stay subscribed until cancelled, reconnecting with backoff whenever the stream ends or fails.

        Every end of a stream, an error or not, is followed by the next backoff delay. The delay goes
        back to its start only on evidence of a healthy stream (an update answered, or a stream open
        for ``sync_healthy_after_s``): grpc.aio hands out initial metadata also for a call that then
        fails, so reaching it proves nothing, and a cloud that refuses or is down must not be redialled
        several times a second.
        """
        while True:
            self.attempts += 1
            opened_s = self._clock()
            try:
                await self._session()
                _log.info("index stream ended", reason="closed by the cloud", open_s=self._open_s(opened_s))
            except grpc.aio.AioRpcError as exc:
                # Keepalive finding the cloud silent ends the stream UNAVAILABLE, as a lost connection does.
                log_call_failure(_log, "index stream ended", exc, refusals=_REFUSALS, open_s=self._open_s(opened_s))
                if self._keyring is not None and key_refused(exc):
                    # Tokens under the old key no longer bill: sign with a new one, registered next stream.
                    self._holder.keys = self._keyring.rotate()
                    _log.error("signing key refused by the cloud; made a new one", key_id=self._holder.keys.key_id)
            except Exception:
                # A bug or a closed store must not end syncing for good: log it and reconnect.
                _log.exception("index stream error", open_s=self._open_s(opened_s))
            if self._clock() - opened_s >= self._config.sync_healthy_after_s:
                self._backoff.reset()
            await self._sleep(self._backoff.next_delay_s())

    def _open_s(self, opened_s: float) -> float:
        return round(self._clock() - opened_s, 3)

    def _apply(self, update: Ready) -> ServingView:
        # Runs in a worker thread: verifying, writing LMDB and building the view are all blocking.
        if update.delta is not None:
            index = self._store.apply_delta(update.delta, update.version)
        elif update.snapshot is not None:
            index = self._store.apply(update.snapshot, update.version)
        else:
            raise IndexRejectedError("update carries no snapshot or delta")
        return build_view(index, self._config.asset_public_base_url).warmed()

    async def _session(self) -> None:
        # The requests are ours to end (cartads/rpc/bidi.py): grpc's own writer would leave a task
        # behind for every stream that ends without being cancelled.
        requests: RequestStream[StreamIndexRequest] = RequestStream()
        hello = StreamIndexRequest(
            store_id=self._config.store_id, edge_id=self._config.edge_id, version=self._holder.version
        )
        keys = self._holder.keys
        if self._keyring is not None and keys is not None:
            hello.signing_key.CopyFrom(EdgeSigningKey(key_id=keys.key_id, key=keys.key))
        requests.send(hello)
        call = self._stub.StreamIndex(requests)
        assembler = UpdateAssembler(self._config.index_cap_bytes)
        try:
            # The cloud sends its headers as soon as it accepts the subscription.
            await call.initial_metadata()
            if not call.done():
                self.state.mark_connected(True)
            while True:
                response = await call.read()
                if response is grpc.aio.EOF:  # type: ignore[attr-defined]
                    return
                assert isinstance(response, StreamIndexResponse)
                for step in assembler.feed(response):
                    requests.send(await self._answer(step))
        finally:
            self.state.mark_connected(False)
            call.cancel()
            requests.close()

    def _reply(self, nonce: str, version: str, error: str = "") -> StreamIndexRequest:
        return StreamIndexRequest(
            store_id=self._config.store_id,
            edge_id=self._config.edge_id,
            response_nonce=nonce,
            version=version,
            # The cloud refuses (and ends the stream on) a detail over its bound.
            error_detail=clip(error, bounds.MAX_ERROR_DETAIL_CHARS - 16),
        )

    async def _answer(self, step: Step) -> StreamIndexRequest:
        # An update reached this edge: the stream works, whatever the answer (ACK or NACK) will be.
        self._backoff.reset()
        held = self._holder.version
        if isinstance(step, Refused):
            return self._reject(step.nonce, step.version, held, step.error)
        if held and step.version == held and step.delta is None:
            # Already serving it (e.g. pushed again after a reconnect): nothing to write.
            self.state.mark_synced()
            return self._reply(step.nonce, held)
        try:
            if self._prepare is not None:
                await self._prepare(step)
            view = await asyncio.to_thread(self._apply, step)
        except IndexRejectedError as exc:
            return self._reject(step.nonce, step.version, held, exc.message)
        self._holder.install(view)
        self.updates_applied += 1
        self.deltas_applied += step.delta is not None
        self.state.mark_synced()
        _log.info(
            "index applied",
            version=view.version,
            kind="delta" if step.delta is not None else "snapshot",
            line_items=len(view.line_items),
        )
        return self._reply(step.nonce, view.version)

    def _reject(self, nonce: str, version: str, held: str, error: str) -> StreamIndexRequest:
        self.updates_rejected += 1
        _log.warning("index update rejected", version=version, kept=held, why=error)
        return self._reply(nonce, held, error)
