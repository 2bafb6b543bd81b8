"""A real cloud and edge on loopback port 0, with the Instacart sample store loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cartads.sample.instacart import Catalog, Order
from cloud_core.config import CloudConfig
from tests.instant_ivt import INSTANT_IVT
from tests.integration.whole_loop import Loop, open_loop


@pytest.fixture
async def loop(tmp_path: Path, sample: tuple[Catalog, list[Order]]) -> AsyncIterator[Loop]:
    """Cloud with the sample store and advertisers, and an edge that holds its index."""
    config = CloudConfig(db=str(tmp_path / "cloud.sqlite3"), listen_address="127.0.0.1:0", ivt_policy=INSTANT_IVT)
    async with open_loop(tmp_path, sample, config) as running:
        yield running
