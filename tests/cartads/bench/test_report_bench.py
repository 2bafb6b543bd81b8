"""The report benchmark on a small load: it measures reports that see every loaded event."""

from __future__ import annotations

from pathlib import Path

from cartads.bench.cloud.reports import Scale, representative_reports, run_report_bench


def test_small_report_bench_reports_every_report(tmp_path: Path) -> None:
    """Every representative report runs and returns rows; the totals saw exactly the loaded events."""
    out = run_report_bench(target_events=20_000, runs=1, db_dir=str(tmp_path), scale=Scale(stores=2, days=2))
    assert set(out["report_ms"]) == set(representative_reports())
    assert all(n > 0 for n in out["report_rows"].values())
    assert out["report_ms_5m_events"] == max(out["report_ms"].values())
    assert out["billed_events"] > 0
