"""The demo's summary: its figures add up and say what each counts."""

from __future__ import annotations

from cart_client.app.runner import TripStats
from cartads.demo.summary import render_text, summarize
from cartads.v1 import admin_pb2

TRIPS = [
    TripStats(
        ad_requests=10,
        ad_requests_filled=6,
        no_fill_count=3,
        ad_request_errors=1,
        ads_served=11,
        impressions_reported=9,
        clicks_reported=2,
        events_reported=30,
        no_fill_reasons={"BUDGET_EXHAUSTED": 2, "FREQUENCY_CAPPED": 1},
    )
]
REPORT = admin_pb2.GetSpendReportResponse(
    campaigns=[admin_pb2.CampaignSpend(campaign_id="c", impressions=9, clicks=2, conversions=1, spend_micros=7)],
    total_spend_micros=7,
    billed_event_count=12,
)


def test_requests_are_filled_plus_no_fill_plus_failed() -> None:
    """ad_requests splits into filled, no fill (by reason) and failed; ads served counts ads, not answers."""
    out = summarize(TRIPS, REPORT, carts=1, index_version="v", elapsed_s=1.0).as_json()
    assert out["ad_requests"] == out["ad_requests_filled"] + out["ad_requests_no_fill"] + out["ad_requests_failed"]
    assert sum(out["no_fill_reasons"].values()) == out["ad_requests_no_fill"] == 3
    assert out["ads_served"] == 11


def test_billed_events_are_billable_reported_plus_conversions() -> None:
    """events_billed = billable events reported (impressions + clicks) + conversions; all events stand apart."""
    summary = summarize(TRIPS, REPORT, carts=1, index_version="v", elapsed_s=1.0)
    out = summary.as_json()
    assert out["billable_events_reported"] == 11
    assert out["events_billed"] == out["billable_events_reported"] + out["conversions_billed"]
    assert out["all_events_reported"] == 30
    assert out["billed_matches_reported"] is True
    assert "no fill by reason: BUDGET_EXHAUSTED 2, FREQUENCY_CAPPED 1" in render_text(summary)
