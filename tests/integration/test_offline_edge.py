"""An edge keeps serving from LMDB when the cloud is gone."""

from __future__ import annotations

from pathlib import Path

import grpc

from cartads.v1 import ad_service_pb2, common_pb2
from cartads.v1.ad_service_pb2_grpc import AdServiceStub
from edge_node.app.server import start_edge
from tests.integration.whole_loop import STORE_ID, Loop


async def test_edge_restarted_with_cloud_down_serves_last_index(loop: Loop, tmp_path: Path) -> None:
    """After the cloud stops, a restarted edge serves its last index at once, no connection needed."""
    assert loop.carts is not None
    credential = await loop.carts.enroll("cart-1")  # enrolled while the cloud is up
    version = loop.edge.index_version
    await loop.edge.stop(grace_s=0.5)
    await loop.cloud.stop(grace_s=0.5)
    edge = await start_edge(loop.edge_config)
    try:
        assert edge.index_version == version
        async with grpc.aio.insecure_channel(f"127.0.0.1:{edge.port}") as channel:
            response = await AdServiceStub(channel).GetAds(
                ad_service_pb2.GetAdsRequest(
                    store_id=STORE_ID,
                    cart_id="cart-1",
                    cart_credential=credential,
                    session_id="s-offline",
                    trigger=common_pb2.TRIGGER_SESSION_START,
                    max_ads=1,
                ),
                timeout=2.0,
            )
        assert response.index_version == version
        assert len(response.ads) == 1
    finally:
        await edge.stop(grace_s=0.5)
