"""Fixtures of the cloud tests: a real cloud on loopback port 0 with its database in tmp_path, clients
of it, a store on both engines, and a catalog seeded through cartads-admin."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
import structlog

from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2_grpc, event_ingest_pb2_grpc
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer, start_cloud
from cloud_core.config import CloudConfig
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.storage.sql.database import Database
from tests.cloud_core.helpers import STORE_ID, run_admin_cli

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub
    from cartads.v1.event_ingest_pb2_grpc import EventIngestServiceAsyncStub


@pytest.fixture
async def cloud_server(tmp_path: Path) -> AsyncIterator[CloudServer]:
    """A real cloud serving on a loopback port, its SQLite database in tmp_path."""
    server = await start_cloud(
        CloudConfig(db=str(tmp_path / "cloud.sqlite3"), listen_address="127.0.0.1:0", push_delay_s=0.02)
    )
    try:
        yield server
    finally:
        await server.stop(grace_s=0.2)


@pytest.fixture
async def admin_token(cloud_server: CloudServer) -> str:
    """An admin token's secret for ``cloud_server``."""
    return await cloud_server.mint_token(Role.ADMIN)


@pytest.fixture
async def channel(cloud_server: CloudServer, admin_token: str) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to ``cloud_server`` that sends the admin token (for AdminService)."""
    ch = aio_channel(f"127.0.0.1:{cloud_server.port}", admin_token)
    try:
        yield ch
    finally:
        await ch.close(None)


@pytest.fixture
async def edge_channel(cloud_server: CloudServer) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to ``cloud_server`` that sends an edge token of store s1 (for the edge services)."""
    ch = aio_channel(f"127.0.0.1:{cloud_server.port}", await cloud_server.mint_token(Role.EDGE, store_id=STORE_ID))
    try:
        yield ch
    finally:
        await ch.close(None)


@pytest.fixture
def admin(channel: grpc.aio.Channel) -> AdminServiceAsyncStub:
    """AdminService of ``cloud_server``, called as an admin."""
    return admin_pb2_grpc.AdminServiceStub(channel)


@pytest.fixture
def ingest(edge_channel: grpc.aio.Channel) -> EventIngestServiceAsyncStub:
    """EventIngestService of ``cloud_server``, called as an edge of store s1."""
    return event_ingest_pb2_grpc.EventIngestServiceStub(edge_channel)


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """The cloud's database opened directly on ``db_url`` (each storage engine), with no rows."""
    opened = await Database.open(db_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlCloudStore]:
    """The cloud's store opened directly on ``db_url`` (each storage engine), with no rows."""
    opened = await SqlCloudStore.open(db_url)
    try:
        yield opened
    finally:
        await opened.close()


# Creatives take a format and what that format needs.
BANNER = ("--format", "banner", "--headline", "Hello", "--body", "Cold drinks in aisle 31")


@pytest.fixture
async def seeded_token(cloud_server: CloudServer, admin_token: str) -> str:
    """Store s1, advertiser acme, creatives cr1 and cr2 and campaign c1 made with cartads-admin; the admin token."""
    steps = [
        ("stores", "create", "--id", "s1", "--name", "Market"),
        ("advertisers", "create", "--id", "acme", "--name", "Acme"),
        ("creatives", "create", "--id", "cr1", "--advertiser", "acme", "--name", "Card", *BANNER),
        ("creatives", "create", "--id", "cr2", "--advertiser", "acme", "--name", "Card 2", *BANNER),
        (
            *("campaigns", "create", "--id", "c1", "--advertiser", "acme", "--name", "Launch"),
            *("--budget-micros", "100000000", "--start", "2026-01-01", "--end", "2030-01-01", "--cap", "4"),
        ),
    ]
    for step in steps:
        assert await run_admin_cli(cloud_server, admin_token, *step) == 0
    return admin_token


@pytest.fixture
def quiet_server_logs() -> Iterator[None]:
    """Keep the in-process cloud's logs out of the CLI output under test (``pytestmark`` of CLI tests)."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    try:
        yield
    finally:
        structlog.configure(**saved)
