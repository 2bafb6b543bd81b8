"""Fixtures of the edge tests: a fake cloud on a loopback port, edges that are always stopped, and
AdService clients of them that are always closed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest

from cartads.v1 import ad_service_pb2_grpc
from edge_node.app.server import EdgeServer, start_edge
from edge_node.config import EdgeConfig
from tests.cart_credentials import credentialed_channel
from tests.edge_node.helpers import AdStubFor, FakeCloud, StartEdge, edge_config, start_fake_cloud

if TYPE_CHECKING:
    from cartads.v1.ad_service_pb2_grpc import AdServiceAsyncStub


@pytest.fixture
async def fake_cloud() -> AsyncIterator[tuple[FakeCloud, int]]:
    """A running fake cloud (index pushes and upload records in memory) and its port."""
    fake = FakeCloud()
    server, port = await start_fake_cloud(fake)
    yield fake, port
    await server.stop(None)


@pytest.fixture
async def edges() -> AsyncIterator[StartEdge]:
    """Starts edges and stops every one still running at the end of the test."""
    started: list[EdgeServer] = []

    async def start(config: EdgeConfig) -> EdgeServer:
        edge = await start_edge(config)
        started.append(edge)
        return edge

    yield start
    for edge in started:
        await edge.stop(grace_s=0.1)


@pytest.fixture
async def ad_stub_for() -> AsyncIterator[AdStubFor]:
    """Makes an AdService client of an edge, each call carrying its test cart's credential (unless it
    has one); every channel it opened is closed at the end of the test."""
    channels: list[grpc.aio.Channel] = []

    def make(edge: EdgeServer) -> AdServiceAsyncStub:
        channel = credentialed_channel(f"127.0.0.1:{edge.port}", edge.config.store_id)
        channels.append(channel)
        return ad_service_pb2_grpc.AdServiceStub(channel)

    yield make
    for channel in channels:
        await channel.close(None)


@pytest.fixture
def config(tmp_path: Path, fake_cloud: tuple[FakeCloud, int]) -> EdgeConfig:
    """An edge config pointing at the fake cloud."""
    return edge_config(tmp_path, fake_cloud[1])
