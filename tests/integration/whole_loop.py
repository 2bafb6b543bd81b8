"""The running pieces of one whole ad loop (a real cloud and edge on loopback) that the ``loop`` fixture
yields, and the store they serve."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cartads.demo.scenario import create_advertisers, create_store, plan_advertisers
from cartads.rpc.bearer import aio_channel
from cartads.sample.instacart import Catalog, Order
from cartads.v1.ad_service_pb2_grpc import AdServiceStub
from cartads.v1.admin_pb2_grpc import AdminServiceStub
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer, start_cloud
from cloud_core.config import CloudConfig
from edge_node.app.server import EdgeServer, start_edge
from edge_node.config import EdgeConfig
from tests.cart_credentials import CloudEnroller, ad_channel
from tests.edge_node.helpers import STORE_ID, edge_config

if TYPE_CHECKING:
    from cartads.v1.ad_service_pb2_grpc import AdServiceAsyncStub
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

__all__ = ["STORE_ID", "Loop", "open_loop"]


@dataclass
class Loop:
    """The running pieces of one ad loop and clients for them."""

    cloud: CloudServer
    edge: EdgeServer
    admin: AdminServiceAsyncStub
    ads: AdServiceAsyncStub
    catalog: Catalog
    orders: list[Order]
    edge_config: EdgeConfig
    # Secrets for cartads-admin (--token) and for extra edges of STORE_ID.
    admin_token: str = ""
    edge_token: str = ""
    # Enrols carts through ``admin`` as calls name them (``ads`` uses it); ``enroll`` gives a credential.
    carts: CloudEnroller | None = None


@contextlib.asynccontextmanager
async def open_loop(tmp_path: Path, sample: tuple[Catalog, list[Order]], config: CloudConfig) -> AsyncIterator[Loop]:
    """A cloud run with ``config``, the sample store and advertisers, and an edge that holds its index;
    each cart a test names is enrolled through the AdminService the first time it calls."""
    catalog, orders = sample
    cloud = await start_cloud(config)
    admin_token = await cloud.mint_token(Role.ADMIN)
    edge_token = await cloud.mint_token(Role.EDGE, store_id=STORE_ID)
    cloud_channel = aio_channel(f"127.0.0.1:{cloud.port}", admin_token)
    admin = AdminServiceStub(cloud_channel)
    await create_store(admin, STORE_ID, "Test Market", "America/Chicago", catalog)
    await create_advertisers(admin, plan_advertisers(catalog, orders), STORE_ID, datetime.now(UTC))
    edge_cfg = edge_config(tmp_path, cloud.port, cloud_token=edge_token)
    edge = await start_edge(edge_cfg)
    await edge.wait_for_index(timeout_s=10.0)
    enroller = CloudEnroller(admin, STORE_ID, edge.knows_credential)
    edge_channel = ad_channel(f"127.0.0.1:{edge.port}", enroller)
    try:
        yield Loop(
            cloud,
            edge,
            admin,
            AdServiceStub(edge_channel),
            catalog,
            orders,
            edge_cfg,
            admin_token,
            edge_token,
            enroller,
        )
    finally:
        await edge_channel.close(grace=None)
        await cloud_channel.close(grace=None)
        await edge.stop(grace_s=0.5)
        await cloud.stop(grace_s=0.5)
