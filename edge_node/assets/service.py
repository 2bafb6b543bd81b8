"""The edge's asset parts started together: the LMDB asset store, its HTTP server and the sync hook."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass, field

import grpc
import structlog

from edge_node.assets.http import AssetHttpServer, start_asset_server
from edge_node.assets.store import AssetStore
from edge_node.assets.sync import AssetSync, view_asset_hashes
from edge_node.config import EdgeConfig
from edge_node.index.holder import ViewHolder

_log = structlog.get_logger("edge.assets")


@dataclass
class EdgeAssets:
    """What ``start_edge`` keeps for assets; ``close`` undoes ``open_edge_assets``."""

    store: AssetStore
    http: AssetHttpServer | None
    sync: AssetSync | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def port(self) -> int | None:
        """The asset server's port, None when none is configured."""
        return self.http.port if self.http is not None else None

    def resolve(self, config: EdgeConfig) -> EdgeConfig:
        """``config`` with the asset base URL GetAds answers use: the configured one, else the bound address."""
        if config.asset_public_base_url or self.http is None:
            return config
        return dataclasses.replace(config, asset_public_base_url=self.http.base_url)

    def attach(self, channel: grpc.aio.Channel, config: EdgeConfig, holder: ViewHolder) -> AssetSync:
        """Start syncing assets with the index: backfill what the served view lacks, collect after installs."""
        sync = AssetSync(channel, config, self.store)
        self.sync = sync
        view = holder.view
        if view is not None and view_asset_hashes(view):
            self._tasks.append(asyncio.get_running_loop().create_task(sync.backfill(view), name="edge-asset-backfill"))
        holder.on_install(sync.on_installed)
        return sync

    async def close(self) -> None:
        """Stop serving assets, end background work, close LMDB; idempotent."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.http is not None:
            await self.http.stop()
            self.http = None
        if self.sync is not None:
            await self.sync.close()
        await asyncio.to_thread(self.store.close)


async def open_edge_assets(config: EdgeConfig) -> EdgeAssets:
    """Open the asset store and start its HTTP server when one is configured."""
    store = await asyncio.to_thread(AssetStore.open, config)
    try:
        http = (
            await start_asset_server(config.asset_listen_address, store, config.reuse_port)
            if config.asset_listen_address is not None
            else None
        )
    except BaseException:
        store.close()
        raise
    if http is not None:
        _log.info("asset server listening", url=http.base_url)
    return EdgeAssets(store, http)
