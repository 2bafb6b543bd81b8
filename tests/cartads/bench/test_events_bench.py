"""`cartads-bench events`: its pieces run and report what they measured (no timing asserted)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cartads.bench.cli import build_parser
from cartads.bench.cloud.events_journal import bench_journal


def test_events_benchmark_is_registered_with_its_flags() -> None:
    """`cartads-bench events --json --quick` parses, with the caller and batch flags."""
    args = build_parser().parse_args(["events", "--json", "--quick", "--callers", "8"])
    assert (args.json, args.quick, args.callers, args.events_per_call) == (True, True, 8, 10)


def test_raw_journal_measurement_reports_rates_and_baseline(tmp_path: Path) -> None:
    """The raw append measurement returns journal and bare-LMDB rates and their ratio."""
    started = time.perf_counter()
    results = bench_journal(tmp_path, 1_000, 100)
    whole_run_s = time.perf_counter() - started
    # Each rate's 1,000 events were appended within the call, so no rate is below 1,000 over its length.
    assert results["journal_append_events_per_s"] >= 1_000 / whole_run_s
    assert results["bare_lmdb_events_per_s"] >= 1_000 / whole_run_s
    assert results["journal_append_vs_bare_lmdb"] == pytest.approx(
        results["journal_append_events_per_s"] / results["bare_lmdb_events_per_s"]
    )
