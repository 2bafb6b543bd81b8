"""The edge's pure cores import no I/O: no LMDB, gRPC, aiohttp or asyncio, no journal or store."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE_CORES = [
    "edge_node.serving.selection",
    "edge_node.serving.eligibility",
    "edge_node.serving.auction",
    "edge_node.serving.rank_merge",
    "edge_node.serving.local_state",
    "edge_node.events.attribution",
    "edge_node.events.leases",
    "edge_node.index.view",
    "edge_node.index.tables",
    "edge_node.index.experiments",
    "edge_node.index.arms",
    "edge_node.index.check",
    "edge_node.sync.update_assembler",
]
IO_MODULES = (
    "lmdb",
    "grpc",
    "aiohttp",
    "asyncio",
    "edge_node.events.journal",
    "edge_node.index.store",
    "edge_node.assets.store",
)
# A fresh interpreter per core: what it loads is what importing that core pulls in, and nothing else.
_LOADED_IO = """
import sys
import {module}
io = {io!r}
print(sorted({{name for name in sys.modules if any(name == m or name.startswith(m + ".") for m in io)}}))
"""


@pytest.mark.parametrize("module", PURE_CORES)
def test_pure_core_loads_no_io_module(module: str) -> None:
    """Importing the core, with everything it imports in turn, loads none of the I/O modules."""
    script = _LOADED_IO.format(module=module, io=IO_MODULES)
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
