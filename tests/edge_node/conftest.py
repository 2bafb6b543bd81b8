"""Fixtures for edge tests: a fake cloud on a loopback port, edges that are always stopped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from edge_node.app.server import EdgeServer, start_edge
from edge_node.config import EdgeConfig
from tests.edge_node.helpers import FakeCloud, edge_config, start_fake_cloud

StartEdge = Callable[[EdgeConfig], Awaitable[EdgeServer]]


@pytest.fixture
async def cloud() -> AsyncIterator[tuple[FakeCloud, int]]:
    """A running fake cloud and its port."""
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
def config(tmp_path: Path, cloud: tuple[FakeCloud, int]) -> EdgeConfig:
    """An edge config pointing at the fake cloud."""
    return edge_config(tmp_path, cloud[1])
