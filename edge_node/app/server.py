"""Starting and stopping one edge node: AdService, health, reflection, index sync and the uploader."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
from collections.abc import Callable, Coroutine
from typing import Any, cast

import grpc
import structlog
from grpc_health.v1.health import HealthServicer
from prometheus_client import CollectorRegistry

from cartads.ops.gc_watch import GcPauses, watch_gc
from cartads.ops.http import OpsServer, start_ops_server
from cartads.ops.loop_watch import StallTracker, watch_loop
from cartads.rpc.runtime import add_logged_servicer, enable_health_and_reflection, server_options, set_serving
from cartads.v1 import ad_service_pb2
from edge_node.app.gauges import edge_gauges
from edge_node.assets.service import EdgeAssets, open_edge_assets
from edge_node.cloud_link.channel import open_cloud_channel
from edge_node.cloud_link.link import CloudLink
from edge_node.config import EdgeConfig
from edge_node.errors import IndexRejectedError
from edge_node.events.journal import Journal
from edge_node.events.pipeline import EventPipeline
from edge_node.events.request_counts import RequestCounter, RequestCountFlusher
from edge_node.events.uploader import Uploader
from edge_node.index.holder import ViewHolder
from edge_node.index.store import IndexStore
from edge_node.index.view import ServingView, build_view
from edge_node.serving.access_log import flush_all as flush_request_log
from edge_node.serving.access_log import request_logger
from edge_node.serving.local_state import SessionFrequency
from edge_node.serving.registration import add_ad_service
from edge_node.serving.servicer import AdServicer
from edge_node.sync.client import SyncClient
from edge_node.sync.metrics import SyncMetrics
from edge_node.sync.signing_keys import Keyring

AD_SERVICE_NAME: str = ad_service_pb2.DESCRIPTOR.services_by_name["AdService"].full_name
# How long stop() lets the uploader try to empty the journal before closing it.
_FINAL_FLUSH_MAX_S = 1.0

_SYNC_TASK = "edge-index-sync"

_log = structlog.get_logger("edge")


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


class EdgeServer:
    """A running edge node; see docs/INTERFACES.md."""

    def __init__(
        self,
        *,
        config: EdgeConfig,
        server: grpc.aio.Server,
        port: int,
        channel: grpc.aio.Channel,
        holder: ViewHolder,
        index_store: IndexStore,
        journal: Journal,
        uploader: Uploader,
        sync_client: SyncClient,
        link: CloudLink,
        health: HealthServicer,
        on_stop: list[Callable[[], None]],
        metrics: CollectorRegistry,
    ) -> None:
        self.config = config
        self.health = health
        self.port = port
        self.uploader = uploader
        self.sync_client = sync_client
        self.link = link
        self._server = server
        self._channel = channel
        self._holder = holder
        self._index_store = index_store
        self._journal = journal
        self._tasks: list[asyncio.Task[None]] = []
        self._on_stop = on_stop
        self._stopped = False
        # Journal pipeline (group commit, lease spend, attribution); start_edge sets it.
        self.events: EventPipeline | None = None
        # Components add their gauges here; the ops endpoint (if configured) serves them.
        self.metrics = metrics
        self._ops: OpsServer | None = None
        # The asset store, its HTTP server and sync hook (edge_node/assets/service.py); start_edge sets it.
        self.assets: EdgeAssets | None = None
        # Journals GetAds request counts periodically (edge_node/events/request_counts.py); start_edge sets it.
        self.request_counts: RequestCountFlusher | None = None
        # How late the event loop ran its callbacks (cartads/ops/loop_watch.py): carts wait that long.
        self.loop_stalls = StallTracker()
        # How long each garbage collection held the process (cartads/ops/gc_watch.py); start_edge watches.
        self.gc_pauses = GcPauses()

    @property
    def ops_port(self) -> int | None:
        """The port of /metrics, /healthz and /readyz, None when no ops endpoint is configured."""
        return self._ops.port if self._ops is not None else None

    async def start_ops(self) -> None:
        """Serve the ops endpoint when the config asks for one (start_edge does this)."""
        if self.config.ops_listen_address is None:
            return
        self._ops = await start_ops_server(self.config.ops_listen_address, self.metrics, self._readiness)

    def _readiness(self) -> tuple[bool, str]:
        version = self._holder.version
        return (True, f"serving index {version}") if version else (False, "no index held yet")

    def start_gc_watch(self) -> None:
        """Time every garbage collection into ``gc_pauses`` until the edge stops (start_edge does this)."""
        self._on_stop.append(watch_gc(self.gc_pauses))

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    def start_background(self) -> None:
        """Start index sync and the uploader (start_edge does this)."""
        self._spawn(self.sync_client.run(), _SYNC_TASK)
        self._spawn(self.uploader.run(), "edge-uploader")
        self._spawn(watch_loop(self.loop_stalls), "edge-loop-watch")
        self._spawn(self.link.run(), "edge-cloud-link")
        if self.request_counts is not None:
            self._spawn(self.request_counts.run(), "edge-request-counts")

    @property
    def index_version(self) -> str:
        """The index version being served, "" while none is held."""
        return self._holder.version

    async def wait_for_index(self, version: str | None = None, timeout_s: float = 5.0) -> str:
        """Wait until the edge serves any index (or ``version``); returns the version served."""
        return await self._holder.wait_for(version, timeout_s)

    def knows_credential(self, credential_id: str) -> bool:
        """Whether the index being served enrols the cart credential ``credential_id``."""
        view = self._holder.view
        return view is not None and credential_id in view.carts

    def journal_depth(self) -> int:
        """Events journaled but not yet acknowledged by the cloud."""
        return self._journal.depth()

    def journal_unsent_bytes(self) -> int:
        """Bytes of events journaled but not yet acknowledged (what the journal's limits count)."""
        return self._journal.unsent_bytes()

    async def wait_for_upload(self, timeout_s: float = 10.0) -> None:
        """Wait until every journaled event is acknowledged by the cloud; raises TimeoutError otherwise."""
        await self.uploader.wait_until_empty(timeout_s)

    async def stop(self, grace_s: float = 1.0) -> None:
        """Stop accepting calls, drain those in flight, flush the journal briefly, close LMDB."""
        if self._stopped:
            return
        self._stopped = True
        sync_tasks = [t for t in self._tasks if t.get_name() == _SYNC_TASK]
        # No index may be installed (and mark the edge ready again) while it shuts down.
        await _cancel(sync_tasks)
        for callback in self._on_stop:
            callback()
        await self._server.stop(grace_s)
        if self._ops is not None:
            await self._ops.stop()
        if self.assets is not None:
            await self.assets.close()
        # The uploader stops only after in-flight ReportEvents calls have been journaled.
        await _cancel([t for t in self._tasks if t not in sync_tasks])
        if self.request_counts is not None:
            # No request is in flight any more: the last counts go into the journal and the final upload.
            with contextlib.suppress(Exception):
                await self.request_counts.close()
        await self._final_flush(min(grace_s, _FINAL_FLUSH_MAX_S))
        await self._channel.close(None)
        # Whatever the cloud has not acknowledged stays journaled and is sent after the next start.
        left = await asyncio.to_thread(self._journal.depth)
        await asyncio.to_thread(self._journal.close)
        await asyncio.to_thread(self._index_store.close)
        _log.info("edge stopped", store_id=self.config.store_id, unacknowledged_events=left)
        flush_request_log()

    async def _final_flush(self, timeout_s: float) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                while await self.uploader.upload_once():
                    pass
        except Exception as exc:
            # Whatever is left stays in the journal and is sent after the next start.
            _log.info("final upload incomplete", error=type(exc).__name__)


# Allocations between young-generation collections. Each GetAds allocates a few hundred objects
# that die with it; CPython's default (700) collects several times per request burst.
_GC_GEN0_THRESHOLD = 10_000


def settle_heap() -> None:
    """Keep the collector off what is loaded at start (the index, modules): it lives as long as
    the process, and full collections would otherwise walk it again and again under load,
    showing up as latency spikes. For a process that runs one edge (cartads-edge calls it once
    the edge serves): it changes the collector of the whole process."""
    gc.collect()
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(_GC_GEN0_THRESHOLD, gen0), gen1, gen2)


def _server_options(config: EdgeConfig) -> list[tuple[str, int]]:
    # Carts send small requests: the cap is far below the cloud channel's index-sized one.
    options = [o for o in server_options(config.max_request_bytes) if o[0] != "grpc.so_reuseport"]
    return [*options, ("grpc.so_reuseport", 1 if config.reuse_port else 0)]


async def _load_last_index(index_store: IndexStore, asset_base_url: str = "") -> ServingView | None:
    def load() -> ServingView | None:
        index = index_store.load()
        return build_view(index, asset_base_url).warmed() if index is not None else None

    try:
        return await asyncio.to_thread(load)
    except IndexRejectedError as exc:
        _log.warning("stored index ignored", why=exc.message)
        return None


async def start_edge(config: EdgeConfig, rng: random.Random | None = None) -> EdgeServer:
    """Open the stores, serve the last good index at once, then start syncing and uploading."""
    index_store = await asyncio.to_thread(IndexStore.open, config)
    try:
        journal = await asyncio.to_thread(Journal.open, config)
    except BaseException:
        index_store.close()
        raise
    try:
        assets = await open_edge_assets(config)
    except BaseException:
        journal.close()
        index_store.close()
        raise
    try:
        edge = await _start(assets.resolve(config), index_store, journal, rng, assets)
    except BaseException:
        await assets.close()
        journal.close()
        index_store.close()
        raise
    return edge


async def _start(
    config: EdgeConfig, index_store: IndexStore, journal: Journal, rng: random.Random | None, assets: EdgeAssets
) -> EdgeServer:
    # This edge's own tracking token keys, made on first start (edge_node/sync/signing_keys.py).
    keyring = await asyncio.to_thread(Keyring.open, config.data_dir)
    holder = ViewHolder(keyring.current)
    events = await asyncio.to_thread(EventPipeline, config, journal)

    # No interceptor: grpc.aio runs an interceptor pipeline (one more coroutine) on every call of a
    # server that has any; the request log is wrapped around the AdService handlers once instead.
    server = grpc.aio.server(options=_server_options(config))
    health = enable_health_and_reflection(server, [AD_SERVICE_NAME])
    set_serving(health, [AD_SERVICE_NAME], False)
    # Ready means "holds a valid index", not "connected to the cloud".
    holder.on_install(lambda _view: set_serving(health, [AD_SERVICE_NAME], True))

    view = await _load_last_index(index_store, config.asset_public_base_url)
    if view is not None:
        holder.install(view)
        _log.info("serving stored index", version=view.version)

    channel = open_cloud_channel(config)
    # Retry delays of uploads and the index stream end when the channel reconnects (a healed link).
    link = CloudLink(channel)
    uploader = Uploader(channel, config, journal, rng, on_acknowledged=events.mark_acknowledged, sleep=link.pause)
    counter = RequestCounter()
    asset_sync = assets.attach(channel, config, holder)
    sync_client = SyncClient(
        channel, config, index_store, holder, rng, prepare=asset_sync.prepare, keyring=keyring, sleep=link.pause
    )
    servicer = AdServicer(
        config=config,
        holder=holder,
        events=events,
        frequency=SessionFrequency(config.max_sessions),
        on_journaled=uploader.notify,
        counter=counter,
    )
    # One line per request, batched when the log is JSON (see edge_node.serving.access_log).
    request_log = cast("structlog.typing.FilteringBoundLogger | None", request_logger())
    # GetAds answers bytes (edge_node/serving/response_wire.py); edge_node/serving/registration.py registers it so.
    add_logged_servicer(server, add_ad_service, servicer, request_log)
    try:
        port = server.add_insecure_port(config.listen_address)
        await server.start()
    except BaseException:
        await channel.close(None)
        await server.stop(None)
        raise

    edge = EdgeServer(
        config=config,
        server=server,
        port=port,
        channel=channel,
        holder=holder,
        index_store=index_store,
        journal=journal,
        uploader=uploader,
        sync_client=sync_client,
        link=link,
        health=health,
        on_stop=[lambda: set_serving(health, [AD_SERVICE_NAME], False)],
        metrics=CollectorRegistry(auto_describe=True),
    )
    edge.metrics.register(
        edge_gauges(edge, holder=holder, link=link, journal=journal, events=events, uploader=uploader)
    )
    edge.metrics.register(SyncMetrics(sync_client, lambda: holder.version))
    try:
        await edge.start_ops()
    except BaseException:
        await edge.stop(0)
        raise
    edge.events = events
    edge.assets = assets
    edge.start_gc_watch()
    edge.request_counts = RequestCountFlusher(
        counter, events.committer, edge_id=config.edge_id, interval_s=config.request_counts_flush_s
    )
    edge.start_background()
    _log.info(
        "edge started", store_id=config.store_id, edge_id=config.edge_id, port=port, index_version=edge.index_version
    )
    return edge
