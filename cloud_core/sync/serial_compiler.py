"""A StoreCompiler called from several worker threads, one call at a time.

The incremental compiler's memory of past compiles is plain dicts and lists (a pure core, without
locks); the index builder compiles in worker threads (a batch, a preview for the delivery status),
so its calls pass through one lock here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from cartads.v1 import admin_pb2, index_pb2
from cloud_core.compile.compiler import CompileInput, CompileSettings
from cloud_core.compile.store_compiler import StoreCompiler
from cloud_core.compile.templates import SharedCompile


class SerialCompiler:
    """``compiler``'s prepare and compile, one call at a time."""

    def __init__(self, compiler: StoreCompiler) -> None:
        self.compiler = compiler
        self._lock = threading.Lock()

    def prepare(
        self,
        line_items: Sequence[admin_pb2.LineItem],
        campaigns: Sequence[admin_pb2.Campaign],
        creatives: Sequence[admin_pb2.CreativeSpec],
    ) -> SharedCompile:
        """The wrapped compiler's prepare."""
        with self._lock:
            return self.compiler.prepare(line_items, campaigns, creatives)

    def compile(self, inp: CompileInput, settings: CompileSettings, now: datetime) -> index_pb2.StoreIndex:
        """The wrapped compiler's compile."""
        with self._lock:
            return self.compiler.compile(inp, settings, now)
