"""Fetching an update's images from a cloud that is away or refuses: backoff, then NACK; refusals at error."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from structlog.testing import capture_logs

from cartads.v1 import asset_pb2_grpc
from cartads.v1.asset_pb2 import Asset, BatchGetAssetsRequest, BatchGetAssetsResponse
from cartads.v1.common_pb2 import Creative
from cartads.v1.index_pb2 import StoreIndex
from edge_node.assets.store import AssetStore
from edge_node.assets.sync import AssetSync
from edge_node.config import EdgeConfig
from edge_node.errors import IndexRejectedError
from edge_node.sync.update_assembler import Ready

IMAGE = b"<svg xmlns='http://www.w3.org/2000/svg'/>"
SHA = hashlib.sha256(IMAGE).hexdigest()


class _TopJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


class _Cloud(asset_pb2_grpc.AssetServiceServicer):
    """Fails the first ``failures`` calls with ``code``, then answers with the image."""

    def __init__(self, code: grpc.StatusCode, failures: int) -> None:
        self._code = code
        self._failures = failures

    async def BatchGetAssets(self, request: BatchGetAssetsRequest, context: Any) -> BatchGetAssetsResponse:  # noqa: N802
        if self._failures > 0:
            self._failures -= 1
            await context.abort(self._code, "not now")
        return BatchGetAssetsResponse(assets=[Asset(sha256=SHA, content_type="image/svg+xml", data=IMAGE)])


@contextlib.asynccontextmanager
async def asset_sync(
    tmp_path: Path, cloud: _Cloud, delays: list[float], fetch_timeout_s: float = 30.0
) -> AsyncIterator[AssetSync]:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    asset_pb2_grpc.add_AssetServiceServicer_to_server(cloud, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    config = EdgeConfig(
        store_id="s1",
        edge_id="e1",
        cloud_address=f"127.0.0.1:{port}",
        data_dir=str(tmp_path),
        sync_backoff_initial_s=0.2,
        sync_backoff_max_s=5.0,
        asset_fetch_timeout_s=fetch_timeout_s,
    )

    async def sleep(delay_s: float) -> None:
        delays.append(delay_s)

    store = AssetStore.open(config)
    channel = grpc.aio.insecure_channel(config.cloud_address)
    try:
        yield AssetSync(channel, config, store, _TopJitter(), sleep=sleep)
    finally:
        await channel.close(None)
        store.close()
        await server.stop(None)


def _update() -> Ready:
    snapshot = StoreIndex(creatives=[Creative(creative_id="c", image_asset_sha256=SHA)])
    return Ready(nonce="n", version="v", snapshot=snapshot)


async def test_an_absent_cloud_is_retried_with_doubling_delays(tmp_path: Path) -> None:
    """Three UNAVAILABLE answers are waited out with delays 0.2, 0.4, 0.8 s, then the image is fetched."""
    delays: list[float] = []
    async with asset_sync(tmp_path, _Cloud(grpc.StatusCode.UNAVAILABLE, 3), delays) as sync:
        await sync.prepare(_update())
        assert sync.fetched == 1
    assert delays == [0.2, 0.4, 0.8]


async def test_a_refused_credential_nacks_at_once_and_is_logged_at_error(tmp_path: Path) -> None:
    """PERMISSION_DENIED is not retried: the update is refused, and the refusal is an error line."""
    delays: list[float] = []
    async with asset_sync(tmp_path, _Cloud(grpc.StatusCode.PERMISSION_DENIED, 1), delays) as sync:
        with capture_logs() as logs, pytest.raises(IndexRejectedError):
            await sync.prepare(_update())
    assert delays == []
    assert [(line["log_level"], line["code"]) for line in logs if "code" in line] == [("error", "PERMISSION_DENIED")]


async def test_the_wait_for_an_absent_cloud_ends_at_the_fetch_deadline(tmp_path: Path) -> None:
    """A cloud away for good ends in a refused update, not an endless wait."""
    delays: list[float] = []
    async with asset_sync(tmp_path, _Cloud(grpc.StatusCode.UNAVAILABLE, 10**6), delays, fetch_timeout_s=0.3) as sync:
        with pytest.raises(IndexRejectedError, match="timed out"):
            await asyncio.wait_for(sync.prepare(_update()), 10)
