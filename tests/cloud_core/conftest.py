"""A real cloud on loopback port 0 with its database in tmp_path."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
import structlog

from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2_grpc
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer, start_cloud
from cloud_core.config import CloudConfig
from tests.cloud_core.helpers import STORE_ID

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudServer]:
    server = await start_cloud(
        CloudConfig(db=str(tmp_path / "cloud.sqlite3"), listen_address="127.0.0.1:0", push_delay_s=0.02)
    )
    try:
        yield server
    finally:
        await server.stop(grace_s=0.2)


@pytest.fixture
async def admin_token(cloud: CloudServer) -> str:
    """An admin token's secret for ``cloud``."""
    return await cloud.mint_token(Role.ADMIN)


@pytest.fixture
async def channel(cloud: CloudServer, admin_token: str) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to ``cloud`` that sends the admin token (for AdminService)."""
    ch = aio_channel(f"127.0.0.1:{cloud.port}", admin_token)
    try:
        yield ch
    finally:
        await ch.close(None)


@pytest.fixture
async def edge_channel(cloud: CloudServer) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to ``cloud`` that sends an edge token of store s1 (for the edge services)."""
    ch = aio_channel(f"127.0.0.1:{cloud.port}", await cloud.mint_token(Role.EDGE, store_id=STORE_ID))
    try:
        yield ch
    finally:
        await ch.close(None)


@pytest.fixture
def admin(channel: grpc.aio.Channel) -> AdminServiceAsyncStub:
    return admin_pb2_grpc.AdminServiceStub(channel)


@pytest.fixture
def quiet_server_logs() -> Iterator[None]:
    """Keep the in-process cloud's logs out of the CLI output under test (``pytestmark`` of CLI tests)."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    try:
        yield
    finally:
        structlog.configure(**saved)
