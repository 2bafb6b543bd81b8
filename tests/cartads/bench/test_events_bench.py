"""`cartads-bench events`: its pieces run and report what they measured (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from cartads.bench.cli import build_parser
from cartads.bench.cloud.events_journal import bench_journal


def test_events_benchmark_is_registered_with_its_flags() -> None:
    """`cartads-bench events --json --quick` parses, with the caller and batch flags."""
    args = build_parser().parse_args(["events", "--json", "--quick", "--callers", "8"])
    assert (args.json, args.quick, args.callers, args.events_per_call) == (True, True, 8, 10)


def test_raw_journal_measurement_reports_rates_and_baseline(tmp_path: Path) -> None:
    """The raw append measurement returns journal and bare-LMDB rates and their ratio."""
    results = bench_journal(tmp_path, 1_000, 100)
    assert results["journal_append_events_per_s"] > 0
    assert results["bare_lmdb_events_per_s"] > 0
    assert results["journal_append_vs_bare_lmdb"] > 0
