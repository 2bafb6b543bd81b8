"""The whole loop with its cloud on the ``db_url`` fixture's engine, for tests that must hold on both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cartads.sample.instacart import Catalog, Order
from cloud_core.config import CloudConfig
from tests.instant_ivt import INSTANT_IVT
from tests.integration.whole_loop import Loop, open_loop


@pytest.fixture
async def engine_loop(tmp_path: Path, sample: tuple[Catalog, list[Order]], db_url: str) -> AsyncIterator[Loop]:
    """The whole loop with its cloud on ``db_url`` (SQLite, PostgreSQL, or as the module parametrizes it)."""
    config = CloudConfig(db=db_url, listen_address="127.0.0.1:0", ivt_policy=INSTANT_IVT)
    async with open_loop(tmp_path, sample, config) as running:
        yield running
