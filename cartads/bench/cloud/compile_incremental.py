"""``cartads-bench cloud``'s incremental compile: the stores' inputs read through the IndexBuilder
(their real delivery inputs) and compiled once; then one line item is edited (a bid, a pause, a new
targeting; each one that serves every store) and the affected stores recompiled in this process,
fully (``prepare_shared`` + ``compile_store_index``) and incrementally (``IncrementalCompiler``,
warm from the compile before the edit), each index checked byte for byte against the full one. The
same for an edit of a line item that targets one store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cartads.v1 import admin_pb2
from cloud_core.compile.compiler import CompileInput, CompileSettings, compile_store_index
from cloud_core.compile.incremental import IncrementalCompiler
from cloud_core.compile.templates import prepare_shared
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.sync.service import IndexBuilder


def _edited(item: admin_pb2.LineItem, kind: str, store_id: str) -> admin_pb2.LineItem:
    out = admin_pb2.LineItem()
    out.CopyFrom(item)
    if kind == "bid":
        out.bid_micros += 10_000
    elif kind == "pause":
        out.state = admin_pb2.SERVING_STATE_PAUSED
    elif kind == "targeting":
        out.targeting.CopyFrom(admin_pb2.Targeting(brands=["Bench Brand"]))
    elif kind == "one_store":
        out.targeting.store_ids[:] = [store_id]
    return out


@dataclass
class _Times:
    """Wall and CPU seconds (this process's: the compiles run in this one thread)."""

    wall_s: float = 0.0
    cpu_s: float = 0.0

    def __iadd__(self, other: _Times) -> _Times:
        self.wall_s += other.wall_s
        self.cpu_s += other.cpu_s
        return self


def _recompile(
    inputs: Sequence[CompileInput],
    items: tuple[admin_pb2.LineItem, ...],
    now: datetime,
    compiler: IncrementalCompiler | None,
) -> tuple[_Times, list[bytes]]:
    """The time to prepare the rows and compile every store in ``inputs`` with ``items``; the indexes' bytes.

    ``compiler`` None compiles fully, as the cloud did before the incremental compiler.
    """
    settings = CompileSettings()
    first = inputs[0]
    wall, cpu = time.perf_counter(), time.process_time()
    if compiler is None:
        shared = prepare_shared(items, first.campaigns, first.creatives)
        indexes = [compile_store_index(replace(i, line_items=items, shared=shared), settings, now) for i in inputs]
    else:
        shared = compiler.prepare(items, first.campaigns, first.creatives)
        indexes = [compiler.compile(replace(i, line_items=items, shared=shared), settings, now) for i in inputs]
    took = _Times(time.perf_counter() - wall, time.process_time() - cpu)
    return took, [index.SerializeToString(deterministic=True) for index in indexes]


def bench_incremental(
    db: str, store_ids: Sequence[str], index_builder: Callable[[SqlCloudStore], IndexBuilder]
) -> dict[str, Any]:
    """The incremental compile's numbers over ``store_ids`` of the bench database ``db``."""

    async def read() -> tuple[datetime, list[CompileInput]]:
        store = await SqlCloudStore.open(db)
        try:
            return await index_builder(store).compile_inputs(store_ids)
        finally:
            await store.close()

    now, inputs = asyncio.run(read())
    compiler = IncrementalCompiler()
    items = list(inputs[0].line_items)
    # The national edits: line items that serve every store, far apart in id order.
    picks = {"bid": len(items) // 3, "pause": len(items) // 2, "targeting": 2 * len(items) // 3}
    # The one-store edit: a line item made to target the first store before the clock starts.
    lone = len(items) - 1
    items[lone] = _edited(items[lone], "one_store", store_ids[0])
    _recompile(inputs, tuple(items), now, compiler)  # the compile before the edits
    full, incremental = _Times(), _Times()
    for kind, at in picks.items():
        items[at] = _edited(items[at], kind, store_ids[0])
        rows = tuple(items)
        took, want = _recompile(inputs, rows, now, None)
        full += took
        took, got = _recompile(inputs, rows, now, compiler)
        incremental += took
        if got != want:
            raise AssertionError(f"incremental compile differs from the full one after the {kind} edit")
    # One store affected: only it is recompiled.
    items[lone] = _edited(items[lone], "bid", store_ids[0])
    rows = tuple(items)
    one_full, want = _recompile(inputs[:1], rows, now, None)
    one_incremental, got = _recompile(inputs[:1], rows, now, compiler)
    if got != want:
        raise AssertionError("incremental compile differs from the full one after the one-store edit")
    edits = len(picks)
    return {
        "incremental_stores": len(inputs),
        "incremental_edits": edits,
        # Per edit, recompiling every affected store: wall seconds, and the ratio of the CPU seconds
        # (this thread's work alone: on a busy machine the wall times grow with the other load).
        "full_recompile_s": round(full.wall_s / edits, 3),
        "incremental_recompile_s": round(incremental.wall_s / edits, 3),
        "incremental_vs_full_compile_ratio": round(incremental.cpu_s / full.cpu_s, 3),
        "incremental_vs_full_compile_ratio_wall": round(incremental.wall_s / full.wall_s, 3),
        "one_store_full_recompile_s": round(one_full.wall_s, 4),
        "one_store_incremental_recompile_s": round(one_incremental.wall_s, 4),
        "one_store_incremental_vs_full_ratio": round(one_incremental.cpu_s / one_full.cpu_s, 3),
    }
