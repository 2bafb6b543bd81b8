"""IndexSyncService: pushes each connected edge its store's current index (delta or snapshot) after every change."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import structlog

from cartads.rpc.errors import CartAdsError, Ctx, InvalidArgumentError, NotFoundError, abort_with
from cartads.time_units import dt_to_us, now_us
from cartads.v1 import admin_pb2, index_pb2, index_sync_pb2, index_sync_pb2_grpc
from cloud_core.access.edge_auth import require_store
from cloud_core.compile.carts import EnrolledCart
from cloud_core.compile.compiler import CompileInput, CompileSettings
from cloud_core.compile.incremental import IncrementalCompiler
from cloud_core.compile.store_compiler import StoreCompiler
from cloud_core.compile.store_inputs import DeliveryInputs, DeliveryStore, delivery_inputs
from cloud_core.compile.templates import SharedCompile
from cloud_core.config import CloudConfig
from cloud_core.delivery.pacing import StorePacing
from cloud_core.delivery.pacing_stats import PacingStatesSave
from cloud_core.storage.protocol import (
    CartStore,
    CatalogStore,
    EdgeStatusStore,
    ExperimentStore,
    IndexVersionStore,
    SigningKeyStore,
    StoreView,
    TermsStore,
)
from cloud_core.sync.charge_records import TermsRecorder, abort_revoked, key_still_valid, register_edge_key
from cloud_core.sync.index_cache import IndexCache
from cloud_core.sync.notifier import ChangeNotifier, ChangeSubscription
from cloud_core.sync.serial_compiler import SerialCompiler
from cloud_core.sync.shared_indexes import CoalescingResolver, SharedIndexes, SharingSettings, StoredSignals
from cloud_core.sync.stream import IndexStream, KeyRevokedError, StoreGoneError, StreamSettings
from cloud_core.sync.stream_state import IndexStreamState, Reject

log = structlog.get_logger("cloud.index_sync")


class IndexBuilder:
    """Loads a store's view and enrolled carts (DB thread) and compiles them (worker thread), off the
    event loop.

    ``compiler`` defaults to an IncrementalCompiler: a recompile after a change redoes only what the
    change touched (cloud_core/compile/incremental.py), with the same bytes as a full compile. Its
    calls from the worker threads are made one at a time (SerialCompiler).
    """

    def __init__(
        self,
        *,
        catalog: CatalogStore,
        experiments: ExperimentStore,
        delivery: DeliveryStore,
        carts: CartStore,
        settings: CompileSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        compiler: StoreCompiler | None = None,
    ) -> None:
        self._compiler = SerialCompiler(compiler if compiler is not None else IncrementalCompiler())
        self._catalog = catalog
        self._experiments = experiments
        self._delivery = delivery
        self._carts = carts
        self._settings = settings
        self._clock = clock

    @property
    def compiler(self) -> StoreCompiler:
        """What compiles the indexes (inside its lock)."""
        return self._compiler.compiler

    async def build(self, store_id: str) -> index_pb2.StoreIndex | None:
        """The store's index now, or None when the store does not exist."""
        now = self._clock()
        view = await self._catalog.load_store_view(store_id)
        if view is None:
            return None
        layers = await self._experiments.active_experiment_layers()
        carts = (await self._carts.enrolled_carts([store_id])).get(store_id, ())
        shared = await asyncio.to_thread(self._compiler.prepare, view.line_items, view.campaigns, view.creatives)
        inp, _ = await self._input(view, layers, carts, shared, now, save=True)
        return await asyncio.to_thread(self._compiler.compile, inp, self._settings, now)

    async def build_many(self, store_ids: Sequence[str]) -> dict[str, index_pb2.StoreIndex]:
        """Indexes of the existing ``store_ids`` now, each as ``build`` makes it alone.

        For recompiling many stores at once: the cloud-wide rows (campaigns, line items, creatives,
        spend) are read in one transaction and prepared for the compiler once, not once per store.
        """
        now = self._clock()
        views = await self._catalog.load_store_views(store_ids)
        if not views:
            return {}
        layers = await self._experiments.active_experiment_layers()
        carts = await self._carts.enrolled_carts(list(views))
        first = next(iter(views.values()))
        shared = await asyncio.to_thread(self._compiler.prepare, first.line_items, first.campaigns, first.creatives)
        inputs, saves = [], []
        for view in views.values():
            store_carts = carts.get(view.store.store_id, ())
            inp, delivery = await self._input(view, layers, store_carts, shared, now, save=False)
            inputs.append(inp)
            saves.append(PacingStatesSave(view.store.store_id, delivery.pacing.stepped, delivery.previous_states))
        # Every store's stepped pacing states in one commit, not one per store.
        await self._delivery.save_pacing_states_many(saves)

        def compile_all() -> dict[str, index_pb2.StoreIndex]:
            return {inp.store.store_id: self._compiler.compile(inp, self._settings, now) for inp in inputs}

        return await asyncio.to_thread(compile_all)

    async def preview_many(
        self, store_ids: Sequence[str]
    ) -> dict[str, tuple[index_pb2.StoreIndex, StorePacing | None]]:
        """Each existing store's index and pacing plan as ``build_many`` would make them now, saving
        nothing (no pacing step is persisted): what AdminService's delivery status reads."""
        now, inputs = await self.compile_inputs(store_ids)

        def compile_all() -> dict[str, tuple[index_pb2.StoreIndex, StorePacing | None]]:
            return {
                inp.store.store_id: (self._compiler.compile(inp, self._settings, now), inp.pacing) for inp in inputs
            }

        return await asyncio.to_thread(compile_all)

    async def compile_inputs(self, store_ids: Sequence[str]) -> tuple[datetime, list[CompileInput]]:
        """The time and each existing store's compile input as ``build_many`` would read them now,
        saving nothing (no pacing step is persisted)."""
        now = self._clock()
        views = await self._catalog.load_store_views(store_ids)
        if not views:
            return now, []
        layers = await self._experiments.active_experiment_layers()
        carts = await self._carts.enrolled_carts(list(views))
        first = next(iter(views.values()))
        shared = await asyncio.to_thread(self._compiler.prepare, first.line_items, first.campaigns, first.creatives)
        inputs = [
            (await self._input(view, layers, carts.get(view.store.store_id, ()), shared, now, save=False))[0]
            for view in views.values()
        ]
        return now, inputs

    async def _input(
        self,
        view: StoreView,
        layers: Sequence[admin_pb2.ExperimentLayer],
        carts: Sequence[EnrolledCart],
        shared: SharedCompile | None,
        now: datetime,
        *,
        save: bool,
    ) -> tuple[CompileInput, DeliveryInputs]:
        # Traffic shares, the pacing controller's step and learned rates (cloud_core/compile/store_inputs.py).
        delivery = await delivery_inputs(self._delivery, view, self._settings, dt_to_us(now), shared=shared, save=save)
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
            experiment_layers=layers,
            traffic=delivery.traffic,
            pacing=delivery.pacing,
            traffic_profile=delivery.profile,
            predictions=delivery.predictions,
            carts=carts,
            shared=shared,
        )
        return inp, delivery


class BatchBuilder(Protocol):
    async def build_many(self, store_ids: Sequence[str]) -> dict[str, index_pb2.StoreIndex]: ...


class CoalescingBuilder:
    """``build(store_id)`` calls made in the same turn of the event loop run as one ``build_many``.

    A change that touches every store (a campaign edit) wakes every store's stream at once; their
    compiles then read and prepare the cloud-wide rows once instead of once per store.
    """

    def __init__(self, builder: BatchBuilder) -> None:
        self._builder = builder
        self._pending: dict[str, list[asyncio.Future[index_pb2.StoreIndex | None]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def build(self, store_id: str) -> index_pb2.StoreIndex | None:
        """The store's index now, or None when the store does not exist."""
        loop = asyncio.get_running_loop()
        if not self._pending:
            loop.call_soon(self._flush)
        future: asyncio.Future[index_pb2.StoreIndex | None] = loop.create_future()
        self._pending.setdefault(store_id, []).append(future)
        return await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        task = asyncio.get_running_loop().create_task(self._run(pending))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, pending: dict[str, list[asyncio.Future[index_pb2.StoreIndex | None]]]) -> None:
        try:
            indexes = await self._builder.build_many(list(pending))
        except BaseException as exc:  # every waiter of the batch gets the failure
            for futures in pending.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for store_id, futures in pending.items():
            for future in futures:
                if not future.done():  # a waiter may have been cancelled meanwhile
                    future.set_result(indexes.get(store_id))


class IndexSyncServicer(index_sync_pb2_grpc.IndexSyncServiceServicer):
    """One long-lived stream per edge: a delta or chunked snapshot on connect and after each change."""

    def __init__(
        self,
        *,
        catalog: CatalogStore,
        edges: EdgeStatusStore,
        notifier: ChangeNotifier,
        builder: IndexBuilder,
        config: CloudConfig,
        keys: SigningKeyStore,
        terms: TermsStore,
        versions: IndexVersionStore,
        flush: Callable[[], Awaitable[None]],
        stored: StoredSignals,
    ) -> None:
        self._catalog = catalog
        self._keys = keys
        self._terms = TermsRecorder(terms, config.terms_retention_days)
        self._edges = edges
        self._notifier = notifier
        # Versions compiled by whichever replica holds the store's lease, stored in the database.
        self.shared = SharedIndexes(
            versions,
            builder,
            flush=flush,
            signals=stored,
            settings=SharingSettings(
                replica_id=config.replica_id,
                lease_s=config.compile_lease_s,
                wait_poll_s=config.compile_wait_poll_s,
                keep_versions=config.index_history_versions,
                compile_batch_stores=config.compile_batch_stores,
            ),
        )
        self.cache = IndexCache(
            CoalescingResolver(self.shared.resolve).build,
            notifier.generation,
            self.shared,
            cache_bytes=config.index_cache_bytes,
            chunk_bytes=config.index_chunk_bytes,
        )
        self.shared.on_compiled = self.cache.keep
        # The (store, edge) of every stream open on this replica (its heartbeats re-assert them).
        self.live_edges: set[tuple[str, str]] = set()
        self._settings = StreamSettings(push_delay_s=config.push_delay_s, refresh_s=config.index_refresh_s)

    async def StreamIndex(  # noqa: N802
        self, request_iterator: AsyncIterator[index_sync_pb2.StreamIndexRequest], context: Ctx
    ) -> AsyncIterator[index_sync_pb2.StreamIndexResponse]:
        requests = request_iterator.__aiter__()
        try:
            first = await requests.__anext__()
        except StopAsyncIteration:
            return
        state = IndexStreamState()
        hello = state.on_hello(first.store_id, first.edge_id, first.version)
        if isinstance(hello, Reject):
            await abort_with(context, InvalidArgumentError(hello.violations))
        store_id, edge_id = hello.store_id, hello.edge_id
        try:
            require_store(context, store_id)
        except CartAdsError as error:
            log.warning("index_subscribe_refused", store_id=store_id, edge_id=edge_id, why=error.message)
            await abort_with(context, error)
        if await self._catalog.get_store(store_id) is None:
            await abort_with(context, NotFoundError(f"store {store_id!r} does not exist", "store_id"))
        headers: list[tuple[str, str]] = []
        if first.HasField("signing_key"):
            headers = await register_edge_key(self._keys, context, store_id, edge_id, first.signing_key)
        # Subscribe before the first compile so a change made meanwhile is not missed.
        subscription = self._notifier.subscribe(store_id)
        connected = state.on_subscribed(now_us())
        self.live_edges.add((store_id, edge_id))
        await self._edges.edge_connected(connected.store_id, connected.edge_id, connected.version, connected.now_us)
        log.info("index_subscribe", store_id=store_id, edge_id=edge_id, version=connected.version)
        # Headers now tell the edge it is subscribed, even when it already holds the current version.
        await context.send_initial_metadata(headers)
        stream = IndexStream(
            state=state,
            requests=requests,
            cache=self.cache,
            subscription=subscription,
            status=self._edges,
            settings=self._settings,
            on_send=self._terms.sent,
            key_valid=key_still_valid(self._keys, first.signing_key.key_id) if headers else None,
        )
        # Closed with this call, so its end is logged and recorded now, not at garbage collection.
        async with contextlib.aclosing(
            self._serve(stream, state, subscription, context, first.signing_key.key_id)
        ) as messages:
            async for message in messages:
                yield message
                # Not referenced while the stream waits for the next update (a snapshot chunk is large).
                del message

    async def _serve(
        self,
        stream: IndexStream,
        state: IndexStreamState,
        subscription: ChangeSubscription,
        context: Ctx,
        key_id: str,
    ) -> AsyncGenerator[index_sync_pb2.StreamIndexResponse]:
        store_id, edge_id = stream.store_id, stream.edge_id
        opened_us = now_us()
        # One line when the stream ends, whatever ends it, so the cloud's view of an edge can be read
        # against the edge's own ("index stream ended" with its code).
        reason = "ended by the cloud"
        try:
            async for message in stream.updates():
                yield message
                del message
        except StoreGoneError:
            reason = "store deleted"
            await abort_with(context, NotFoundError(f"store {store_id!r} was deleted", "store_id"))
        except KeyRevokedError:
            reason = "signing key revoked"
            log.warning("signing_key_revoked", store_id=store_id, edge_id=edge_id, key_id=key_id)
            await abort_revoked(context, key_id)
        except asyncio.CancelledError:
            # grpc cancels the handler when the edge cancels its call, or when the connection is lost:
            # a reset, or keepalive pings unanswered on a silent link.
            reason = "cancelled: the edge ended the call or its connection was lost"
            raise
        except GeneratorExit:
            reason = "closed by grpc (the call is over)"
            raise
        except Exception as exc:
            reason = f"error: {type(exc).__name__}"
            raise
        finally:
            subscription.close()
            self.live_edges.discard((store_id, edge_id))
            closed_us = now_us()
            log.info(
                "index_stream_end",
                store_id=store_id,
                edge_id=edge_id,
                reason=reason,
                open_s=round((closed_us - opened_us) / 1e6, 3),
            )
            disconnected = state.on_stream_closed(closed_us)
            if disconnected is not None:
                # The stream may be ending because the cloud is stopping: recording it is best effort.
                with contextlib.suppress(Exception):
                    await asyncio.shield(
                        self._edges.edge_disconnected(disconnected.store_id, disconnected.edge_id, disconnected.now_us)
                    )
