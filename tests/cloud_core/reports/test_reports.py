"""The pure side of RunReport: request checks, query planning, folding rows, lift per layer."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from cartads.v1 import admin_pb2
from cloud_core.reports.metrics import Delivery, TripSums
from cloud_core.reports.query import (
    check_report_request,
    fold_rows,
    layer_lifts,
    plan_report,
    report_response,
    split_by_days,
    totals_queries,
)
from cloud_core.reports.rollups import ReportFilter, ReportQuery

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
DAY0 = 20_000 * DAY_US  # a UTC midnight


def _request(
    *dims: int, start_us: int = DAY0, end_us: int = DAY0 + DAY_US, **fields: str
) -> admin_pb2.RunReportRequest:
    request = admin_pb2.RunReportRequest(dimensions=list(dims), **fields)  # type: ignore[arg-type]
    request.start_time.FromMicroseconds(start_us)
    request.end_time.FromMicroseconds(end_us)
    return request


def test_valid_request_has_no_violations() -> None:
    """Known dimensions, a range and a real zone pass."""
    assert check_report_request(_request(admin_pb2.REPORT_DIMENSION_DAY, time_zone="America/Chicago")) == []


def test_end_before_start_is_a_violation() -> None:
    """end_time must follow start_time."""
    assert ("end_time", "must be after start_time") in check_report_request(_request(start_us=DAY0, end_us=DAY0))


def test_range_is_rounded_out_to_whole_hours() -> None:
    """A range from 10:30 to 11:15 reads the rollups of hours 10 and 11."""
    plan = plan_report(_request(start_us=DAY0 + 10 * HOUR_US + 1_800_000_000, end_us=DAY0 + 11 * HOUR_US + 900_000_000))
    assert (plan.query.where.start_us, plan.query.where.end_us) == (DAY0 + 10 * HOUR_US, DAY0 + 12 * HOUR_US)


def test_whole_days_read_the_daily_rollup_and_edges_the_hourly() -> None:
    """Three days from 06:00 read hours up to midnight, two whole days, then hours to 06:00."""
    query = ReportQuery(("campaign_id",), ReportFilter(DAY0 + 6 * HOUR_US, DAY0 + 3 * DAY_US + 6 * HOUR_US))
    parts = split_by_days(query, daily_ok=True)
    assert [(q.table, q.where.start_us - DAY0, q.where.end_us - DAY0) for q in parts] == [
        ("hourly", 6 * HOUR_US, DAY_US),
        ("daily_campaign", DAY_US, 3 * DAY_US),
        ("hourly", 3 * DAY_US, 3 * DAY_US + 6 * HOUR_US),
    ]


def test_store_or_creative_needs_the_full_daily_rollup() -> None:
    """Grouping or filtering by store keeps the daily read on the table that has stores."""
    query = ReportQuery(("campaign_id",), ReportFilter(DAY0, DAY0 + DAY_US, store_ids=("s1",)))
    assert [q.table for q in split_by_days(query, daily_ok=True)] == ["daily"]


def test_hour_dimension_or_local_days_stay_hourly() -> None:
    """By hour, or by day in a zone other than UTC, every read is hourly."""
    by_hour = plan_report(_request(admin_pb2.REPORT_DIMENSION_HOUR, end_us=DAY0 + 3 * DAY_US))
    local_day = plan_report(_request(admin_pb2.REPORT_DIMENSION_DAY, end_us=DAY0 + 3 * DAY_US, time_zone="Asia/Tokyo"))
    assert [q.table for q in by_hour.queries] == ["hourly"]
    assert [q.table for q in local_day.queries] == ["hourly"]


def test_days_fold_in_the_requested_zone() -> None:
    """Hours 14:00 and 16:00 UTC fall on different Tokyo days (UTC+9), summed per day."""
    plan = plan_report(_request(admin_pb2.REPORT_DIMENSION_DAY, time_zone="Asia/Tokyo"))
    rows = fold_rows(
        plan, [((DAY0 + 14 * HOUR_US,), Delivery(impressions=2)), ((DAY0 + 16 * HOUR_US,), Delivery(impressions=3))]
    )
    tokyo = ZoneInfo("Asia/Tokyo")
    assert plan.tz == tokyo
    assert sorted((k[0], d.impressions) for k, d in rows.items()) == [("2024-10-04", 2), ("2024-10-05", 3)]


def test_rows_by_arm_get_separate_totals() -> None:
    """A report by arm reads its totals over all traffic, since an event is in one arm per layer."""
    plan = plan_report(_request(admin_pb2.REPORT_DIMENSION_EXPERIMENT_ARM))
    (totals,) = totals_queries(plan)
    assert (totals.by_arm, totals.columns) == (False, ())
    assert totals_queries(plan_report(_request(admin_pb2.REPORT_DIMENSION_CAMPAIGN))) == ()


def test_response_rows_and_totals() -> None:
    """Rows come sorted with their dimension fields set; totals sum them when not given."""
    plan = plan_report(_request(admin_pb2.REPORT_DIMENSION_CAMPAIGN, admin_pb2.REPORT_DIMENSION_EXPERIMENT_ARM))
    rows = {("c2", ("L", "a")): Delivery(impressions=1), ("c1", ("L", "b")): Delivery(impressions=4, spend_micros=8)}
    response = report_response(plan, rows, [], totals=Delivery(impressions=9))
    assert [(r.campaign_id, r.layer_id, r.arm_id) for r in response.rows] == [("c1", "L", "b"), ("c2", "L", "a")]
    assert response.rows[0].metrics.ecpm_micros == 2000
    assert response.totals.impressions == 9


def test_layer_lift_pools_exposed_arms_against_the_holdout() -> None:
    """Two exposed arms are pooled against the holdout; a layer no longer known is left out."""
    sums = [
        ("L", "a", TripSums(500, 60, 0, 0)),
        ("L", "b", TripSums(500, 60, 0, 0)),
        ("L", "h", TripSums(1000, 100, 0, 0)),
        ("gone", "x", TripSums(10, 1, 0, 0)),
    ]
    (lift,) = layer_lifts(sums, {"L": frozenset({"h"})})
    assert [(a.arm_id, a.holdout, a.trips) for a in lift.arms] == [
        ("a", False, 500),
        ("b", False, 500),
        ("h", True, 1000),
    ]
    assert lift.conversion_rate_lift.difference == pytest.approx(0.02)
    assert lift.conversion_rate_lift.relative == pytest.approx(0.2)


def test_layer_without_holdout_trips_has_no_lift_estimate() -> None:
    """Arms are still listed, but no estimate is made without holdout trips."""
    (lift,) = layer_lifts([("L", "a", TripSums(10, 1, 0, 0))], {"L": frozenset({"h"})})
    assert not lift.HasField("conversion_rate_lift")
    assert len(lift.arms) == 1
