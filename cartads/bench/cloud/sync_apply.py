"""The real edge's apply cost for ``cartads-bench sync``: a full index and a one-line-item delta
written into LMDB by edge_node.index.store and turned into a serving view."""

from __future__ import annotations

import statistics
import time
from datetime import datetime
from pathlib import Path

from cartads.bench.cloud.index_fixture import IndexFixture
from cartads.index.delta import compute_delta
from cartads.v1 import admin_pb2
from cloud_core.compile.compiler import CompileSettings, compile_store_index
from edge_node.config import EdgeConfig
from edge_node.index.store import IndexStore
from edge_node.index.view import build_view

ROUNDS = 3


def measure_apply(fixture: IndexFixture, now: datetime, data_dir: Path) -> dict[str, float]:
    """Seconds: compile the index (cloud), apply it whole and apply a one-bid delta (edge), medians."""
    started = time.perf_counter()
    full = compile_store_index(fixture.compile_input(), CompileSettings(), now)
    compile_s = time.perf_counter() - started
    changed = admin_pb2.LineItem()
    changed.CopyFrom(fixture.line_items[0])
    changed.bid_micros += 1
    inp = fixture.compile_input()
    items = (changed, *fixture.line_items[1:])
    other = compile_store_index(type(inp)(**{**inp.__dict__, "line_items": items}), CompileSettings(), now)
    delta = compute_delta(full, other)
    config = EdgeConfig(store_id=fixture.store.store_id, edge_id="bench", cloud_address="", data_dir=str(data_dir))
    store = IndexStore.open(config)
    full_s, delta_s = [], []
    try:
        for _ in range(ROUNDS):
            started = time.perf_counter()
            build_view(store.apply(full, full.version))
            full_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            build_view(store.apply_delta(delta, other.version))
            delta_s.append(time.perf_counter() - started)
    finally:
        store.close()
    return {
        "compile_s": compile_s,
        "apply_full_s": statistics.median(full_s),
        "apply_delta_s": statistics.median(delta_s),
    }
