"""``incremental_vs_full_compile_ratio``: an incremental recompile's time over a full compile's, for
the same change to one store.

On this branch the cloud has no incremental compile: every change recompiles the store's whole index
(``IndexBuilder.build``). So the full compile is measured (the median of a few, in this process,
against the fleet's database) and the ratio is reported as null with the reason. Where incremental
compile exists, ``incremental_compile_s`` is the one place to call it from.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from cloud_core.compile.compiler import CompileSettings
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.sync.service import IndexBuilder

NO_INCREMENTAL = "no incremental compile on this branch: every change recompiles the whole index"


@dataclass(frozen=True)
class CompileRatio:
    full_compile_s: float
    incremental_compile_s: float | None
    ratio: float | None
    note: str


async def _full_compile_s(store: SqlCloudStore, store_id: str) -> float:
    builder = IndexBuilder(
        catalog=store.catalog,
        experiments=store.experiments,
        delivery=store.pacing_stats,
        carts=store.carts,
        settings=CompileSettings(),
    )
    started = time.perf_counter()
    index = await builder.build(store_id)
    elapsed = time.perf_counter() - started
    if index is None:
        raise RuntimeError(f"store {store_id} did not compile")
    return elapsed


async def incremental_compile_s(store: SqlCloudStore, store_id: str, line_item_id: str) -> float | None:
    """The time to recompile ``store_id`` after a change to ``line_item_id`` only; None: not available."""
    del store, store_id, line_item_id
    return None


async def measure(dsn: str, store_id: str, line_item_id: str, repeats: int = 3) -> CompileRatio:
    """Full and (where it exists) incremental compile of ``store_id`` for a change to ``line_item_id``."""
    store = await SqlCloudStore.open(dsn)
    try:
        full = statistics.median([await _full_compile_s(store, store_id) for _ in range(repeats)])
        incremental = await incremental_compile_s(store, store_id, line_item_id)
    finally:
        await store.close()
    if incremental is None:
        return CompileRatio(full, None, None, NO_INCREMENTAL)
    return CompileRatio(full, incremental, incremental / full, "")
