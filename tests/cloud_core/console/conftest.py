"""The console tests' world: a real cloud serving the console, with an edge, an experiment and spend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cloud_core.console.world import ConsoleWorld, console_world


@pytest.fixture
async def world(tmp_path: Path, db_url: str) -> AsyncIterator[ConsoleWorld]:
    """The console's world on ``db_url``: its cloud, edge, admin client and tokens."""
    async with console_world(tmp_path, db_url) as running:
        yield running
