"""``incremental_vs_full_compile_ratio`` on the fleet's own database: the same edits recompiled fully
and incrementally over a sample of the fleet's stores (each with its own catalog), through
``cartads-bench cloud``'s measurement (``bench_incremental``), every index checked byte for byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from cartads.bench.cloud.compile import index_builder
from cartads.bench.cloud.compile_incremental import bench_incremental


@dataclass(frozen=True)
class CompileRatio:
    full_compile_s: float
    incremental_compile_s: float
    ratio: float
    one_store_ratio: float
    stores: int


async def measure(dsn: str, store_ids: Sequence[str]) -> CompileRatio:
    """Full and incremental recompiles of ``store_ids`` after the same line item edits."""
    # bench_incremental runs its own event loop for the reads; keep it off the fleet's loop.
    found = await asyncio.to_thread(bench_incremental, dsn, list(store_ids), index_builder)
    return CompileRatio(
        full_compile_s=float(found["full_recompile_s"]),
        incremental_compile_s=float(found["incremental_recompile_s"]),
        ratio=float(found["incremental_vs_full_compile_ratio"]),
        one_store_ratio=float(found["one_store_incremental_vs_full_ratio"]),
        stores=int(found["incremental_stores"]),
    )
