"""The report benchmark on a small load: it measures reports that see every loaded event."""

from __future__ import annotations

from pathlib import Path

from cartads.bench.cloud.reports import Scale, representative_reports, run_report_bench


def test_small_report_bench_reports_every_report(tmp_path: Path) -> None:
    """Every representative report runs and returns the rows its scale implies, over about the events asked for."""
    out = run_report_bench(target_events=20_000, runs=1, db_dir=str(tmp_path), scale=Scale(stores=2, days=2))
    assert set(out["report_ms"]) == set(representative_reports())
    # Each report's rows follow from the scale: 40 campaigns, 4 per advertiser, 3 line items of 2
    # creatives per campaign, 2 exposed arms (the holdout sees no ads), 2 stores, 2 days.
    assert out["report_rows"] == {
        "by_campaign_14d": 40,
        "advertiser_campaign_by_day_7d": 4 * 2,
        "by_arm_with_lift_14d": 2,
        "by_store_hour_1d": 2 * 24,
        "campaign_line_item_creative_14d": 3 * 2,
        "totals_14d": 1,
    }
    assert out["report_ms_5m_events"] == max(out["report_ms"].values())
    # The bench itself fails unless the totals report saw exactly the billed events it loaded.
    assert 18_000 <= out["billed_events"] <= 22_000
