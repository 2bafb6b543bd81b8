"""A cloud configured with its own per-cart limits and invalid traffic thresholds pushes them to its edges."""

from __future__ import annotations

from pathlib import Path

from cartads.cart_limits import PerCartLimits, limits_from_pb
from cartads.ivt import IvtPolicy, policy_from_pb
from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2_grpc, index_sync_pb2, index_sync_pb2_grpc
from cloud_core.access.policy import Role
from cloud_core.app.server import start_cloud
from cloud_core.config import CloudConfig
from tests.cloud_core.helpers import STORE_ID, seed
from tests.sync_helpers import SyncReader


async def test_configured_limits_and_policy_reach_the_edge(tmp_path: Path) -> None:
    """The snapshot an edge receives carries the limits and thresholds of the cloud's configuration."""
    limits = PerCartLimits(calls_per_s=7.5, sessions_per_cart=4)
    policy = IvtPolicy(max_quantity=40)
    cloud = await start_cloud(
        CloudConfig(
            db=str(tmp_path / "cloud.sqlite3"), listen_address="127.0.0.1:0", cart_limits=limits, ivt_policy=policy
        )
    )
    address = f"127.0.0.1:{cloud.port}"
    admin_channel = aio_channel(address, await cloud.mint_token(Role.ADMIN))
    edge_channel = aio_channel(address, await cloud.mint_token(Role.EDGE, store_id=STORE_ID))
    try:
        await seed(admin_pb2_grpc.AdminServiceStub(admin_channel))
        call = index_sync_pb2_grpc.IndexSyncServiceStub(edge_channel).StreamIndex(None)
        await call.write(index_sync_pb2.StreamIndexRequest(store_id=STORE_ID, edge_id="edge-1"))
        update = await SyncReader(call).next(5.0)
        call.cancel()
    finally:
        await admin_channel.close(None)
        await edge_channel.close(None)
        await cloud.stop(grace_s=0.2)
    assert limits_from_pb(update.index.settings.cart_limits) == limits
    assert policy_from_pb(update.index.settings.ivt_policy) == policy
