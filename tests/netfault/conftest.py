"""A faulty link (cartads/bench/netfault): skipped with the reason where this machine cannot build one
(not root, no TUN, namespaces refused), a failure instead under CI=true, where it is required."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from cartads.bench.netfault.link import FaultyLink
from cartads.bench.netfault.stage import PartitionStage, open_stage
from cartads.bench.netfault.tun import NetfaultUnavailableError, why_unavailable


def _unavailable(reason: str) -> None:
    message = f"no faulty link here: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (required under CI=true)")
    pytest.skip(message)


def require_netfault() -> None:
    """Skip the calling test (fail it under CI=true) when this machine cannot build a link."""
    reason = why_unavailable()
    if reason is not None:
        _unavailable(reason)


def open_link(seed: int = 7) -> FaultyLink:
    """A FaultyLink opened, or the calling test skipped (failed under CI=true) with the reason."""
    require_netfault()
    try:
        return FaultyLink(seed=seed).__enter__()
    except NetfaultUnavailableError as exc:
        _unavailable(str(exc))
        raise


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[PartitionStage]:
    """A cloud process across a clean link from an edge process, the demo's store seeded, 4 carts."""
    require_netfault()
    try:
        async with open_stage(tmp_path, carts=4, seed=11) as running:
            yield running
    except NetfaultUnavailableError as exc:
        _unavailable(str(exc))


@pytest.fixture
def link() -> Iterator[FaultyLink]:
    """A clean link to a fresh namespace."""
    opened = open_link()
    try:
        yield opened
    finally:
        opened.close()
