"""A real cloud and edge on loopback port 0, with the Instacart sample store loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cartads.demo.scenario import create_advertisers, create_store, plan_advertisers
from cartads.rpc.bearer import aio_channel
from cartads.sample.instacart import Catalog, Order
from cartads.v1.ad_service_pb2_grpc import AdServiceStub
from cartads.v1.admin_pb2_grpc import AdminServiceStub
from cloud_core.access.policy import Role
from cloud_core.app.server import start_cloud
from cloud_core.config import CloudConfig
from edge_node.app.server import start_edge
from tests.cart_credentials import CloudEnroller, ad_channel
from tests.edge_node.helpers import edge_config
from tests.instant_ivt import INSTANT_IVT
from tests.integration.whole_loop import STORE_ID, Loop


@pytest.fixture
async def loop(tmp_path: Path, sample: tuple[Catalog, list[Order]]) -> AsyncIterator[Loop]:
    """Cloud with the sample store and advertisers, and an edge that holds its index."""
    catalog, orders = sample
    cloud = await start_cloud(
        CloudConfig(db=str(tmp_path / "cloud.sqlite3"), listen_address="127.0.0.1:0", ivt_policy=INSTANT_IVT)
    )
    admin_token = await cloud.mint_token(Role.ADMIN)
    edge_token = await cloud.mint_token(Role.EDGE, store_id=STORE_ID)
    cloud_channel = aio_channel(f"127.0.0.1:{cloud.port}", admin_token)
    admin = AdminServiceStub(cloud_channel)
    await create_store(admin, STORE_ID, "Test Market", "America/Chicago", catalog)
    await create_advertisers(admin, plan_advertisers(catalog, orders), STORE_ID, datetime.now(UTC))
    config = edge_config(tmp_path, cloud.port, cloud_token=edge_token)
    edge = await start_edge(config)
    await edge.wait_for_index(timeout_s=10.0)
    # Each cart a test names is enrolled through the AdminService the first time it calls.
    enroller = CloudEnroller(admin, STORE_ID, edge.knows_credential)
    edge_channel = ad_channel(f"127.0.0.1:{edge.port}", enroller)
    try:
        yield Loop(
            cloud, edge, admin, AdServiceStub(edge_channel), catalog, orders, config, admin_token, edge_token, enroller
        )
    finally:
        await edge_channel.close(grace=None)
        await cloud_channel.close(grace=None)
        await edge.stop(grace_s=0.5)
        await cloud.stop(grace_s=0.5)
