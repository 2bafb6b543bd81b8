"""What compiles a store's index for the cloud's index builder: incremental (the default) or full.

Both make the same bytes from the same inputs; the incremental one remembers its past work
(cloud_core/compile/incremental.py), the full one recompiles everything every time (a baseline for
benchmarks and tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from cartads.v1 import admin_pb2, index_pb2
from cloud_core.compile.compiler import CompileInput, CompileSettings, compile_store_index
from cloud_core.compile.templates import SharedCompile, prepare_shared


class StoreCompiler(Protocol):
    """Prepares the cloud-wide rows once per batch and compiles each store's index from them."""

    def prepare(
        self,
        line_items: Sequence[admin_pb2.LineItem],
        campaigns: Sequence[admin_pb2.Campaign],
        creatives: Sequence[admin_pb2.CreativeSpec],
    ) -> SharedCompile: ...

    def compile(self, inp: CompileInput, settings: CompileSettings, now: datetime) -> index_pb2.StoreIndex: ...


class FullCompiler:
    """Every store compiled from scratch: ``prepare_shared`` and ``compile_store_index``."""

    def prepare(
        self,
        line_items: Sequence[admin_pb2.LineItem],
        campaigns: Sequence[admin_pb2.Campaign],
        creatives: Sequence[admin_pb2.CreativeSpec],
    ) -> SharedCompile:
        """``prepare_shared`` of the rows."""
        return prepare_shared(line_items, campaigns, creatives)

    def compile(self, inp: CompileInput, settings: CompileSettings, now: datetime) -> index_pb2.StoreIndex:
        """``compile_store_index``."""
        return compile_store_index(inp, settings, now)
