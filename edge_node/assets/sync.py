"""Assets travel with the index: before an update is applied, fetch the images it shows that this
edge lacks (verified by sha256); after a version is installed, drop images no longer shown.

An update whose images cannot all be fetched is refused (NACKed) and the old index keeps serving,
so a cart is never handed an ad whose picture the edge cannot serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Iterable

import grpc
import structlog

from cartads.ops.logs import clip
from cartads.v1.asset_pb2 import Asset, BatchGetAssetsRequest
from cartads.v1.asset_pb2_grpc import AssetServiceStub
from cartads.v1.common_pb2 import Creative as PbCreative
from edge_node.assets.store import AssetStore, verified
from edge_node.cloud_link.backoff import Backoff
from edge_node.cloud_link.refusals import log_call_failure
from edge_node.config import EdgeConfig
from edge_node.errors import IndexRejectedError
from edge_node.index.view import ServingView
from edge_node.sync.update_assembler import Ready

_log = structlog.get_logger("edge.assets")

# The cloud answers at most this many per call (cloud_core/sync/asset_service.py).
BATCH_ASSETS = 16
_TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def update_asset_hashes(update: Ready) -> set[str]:
    """The assets an update adds: every creative of a snapshot, the added or changed ones of a delta.

    A delta's unchanged creatives were in the version it applies to, whose assets this edge holds.
    """
    creatives: Iterable[PbCreative] = ()
    if update.snapshot is not None:
        creatives = update.snapshot.creatives
    elif update.delta is not None:
        creatives = update.delta.upserted.creatives
    return {c.image_asset_sha256 for c in creatives if c.image_asset_sha256}


def view_asset_hashes(view: ServingView) -> set[str]:
    """Every asset a serving view shows."""
    return {c.image_asset_sha256 for c in view.creatives.values() if c.image_asset_sha256}


class AssetSync:
    """Fetches an update's missing assets before it is applied; collects unused ones after."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        config: EdgeConfig,
        store: AssetStore,
        rng: random.Random | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._stub = AssetServiceStub(channel)
        self._config = config
        self._rng = rng
        self._sleep = sleep
        self._store = store
        # Fetched for an update not yet installed: garbage collection must not take them.
        self._pending: set[str] = set()
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.fetched = 0
        self.collected = 0

    async def prepare(self, update: Ready) -> None:
        """Hold every asset ``update`` shows, or raise IndexRejectedError (the update is NACKed)."""
        wanted = update_asset_hashes(update)
        async with self._lock:
            self._pending |= wanted
            await self._fetch_missing(wanted)

    async def _fetch_missing(self, wanted: set[str]) -> None:
        missing = await asyncio.to_thread(self._store.missing, wanted)
        if not missing:
            return
        try:
            async with asyncio.timeout(self._config.asset_fetch_timeout_s):
                assets = await self._fetch_retrying(missing)
        except TimeoutError as exc:
            raise IndexRejectedError(f"assets unavailable: fetching {len(missing)} timed out") from exc
        except grpc.aio.AioRpcError as exc:
            log_call_failure(_log, "asset fetch failed", exc, count=len(missing))
            raise IndexRejectedError(f"assets unavailable: {exc.code().name} {clip(exc.details() or '')}") from exc
        got = {a.sha256 for a in assets}
        absent = [sha for sha in missing if sha not in got]
        if absent:
            raise IndexRejectedError(f"assets unavailable: the cloud has no asset {', '.join(absent[:3])}")
        await asyncio.to_thread(self._store.put_many, assets)
        self.fetched += len(assets)
        _log.info("assets fetched", count=len(assets), bytes=sum(len(a.data) for a in assets))

    async def _fetch_retrying(self, missing: list[str]) -> list[Asset]:
        # A cloud that is briefly away is waited for (within the caller's deadline): after a NACK
        # the cloud would not send this version again until something changes. Any other failure
        # (a refused credential above all) ends the wait at once.
        backoff = Backoff(self._config.sync_backoff_initial_s, self._config.sync_backoff_max_s, self._rng)
        while True:
            try:
                return await self._fetch(missing)
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in _TRANSIENT:
                    raise
                delay_s = backoff.next_delay_s()
                log_call_failure(_log, "asset fetch retry", exc, retry_in_s=round(delay_s, 3))
            await self._sleep(delay_s)

    async def _fetch(self, missing: list[str]) -> list[Asset]:
        out: list[Asset] = []
        for start in range(0, len(missing), BATCH_ASSETS):
            batch = missing[start : start + BATCH_ASSETS]
            response = await self._stub.BatchGetAssets(
                BatchGetAssetsRequest(store_id=self._config.store_id, sha256s=batch),
                timeout=self._config.asset_fetch_timeout_s,
            )
            for asset in response.assets:
                if asset.sha256 not in batch:
                    continue
                if not verified(asset):
                    raise IndexRejectedError(f"asset {asset.sha256} failed its sha256 check")
                out.append(asset)
        return out

    def on_installed(self, view: ServingView) -> None:
        """After ``view`` is served: drop the assets no longer shown (in the background)."""
        task = asyncio.get_running_loop().create_task(self._collect_quietly(view_asset_hashes(view)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _collect_quietly(self, shown: set[str]) -> None:
        try:
            await self.collect(shown)
        except Exception:
            # Collection is housekeeping: an unused image kept a little longer harms nothing.
            _log.exception("asset collection failed")

    async def collect(self, shown: set[str]) -> list[str]:
        """Delete held assets that neither ``shown`` nor an update being prepared uses."""
        async with self._lock:
            self._pending -= shown
            removed = await asyncio.to_thread(self._store.retain_only, shown | self._pending)
        if removed:
            self.collected += len(removed)
            _log.info("assets collected", count=len(removed))
        return removed

    async def backfill(self, view: ServingView, retry_s: float = 2.0) -> None:
        """Fetch what a stored view shows but this edge lacks (e.g. after a lost data dir), until done."""
        while True:
            try:
                async with self._lock:
                    await self._fetch_missing(view_asset_hashes(view))
                return
            except IndexRejectedError as exc:
                _log.info("asset backfill incomplete", why=exc.message)
            await asyncio.sleep(retry_s)

    async def close(self) -> None:
        """Cancel background collection."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
