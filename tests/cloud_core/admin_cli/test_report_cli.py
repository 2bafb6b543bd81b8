"""How `cartads-admin report run` prints a report: ratios readable, no column it cannot fill."""

from __future__ import annotations

import csv
import io

from cartads.v1 import admin_pb2
from cloud_core.admin_cli.main import build_parser
from cloud_core.admin_cli.reports import delivery_text, report_csv, report_request, shows_requests


def _response() -> admin_pb2.RunReportResponse:
    metrics = admin_pb2.ReportMetrics(impressions=3, clicks=2, ctr=2 / 3, conversion_rate=0.25, roas=18_700.0)
    return admin_pb2.RunReportResponse(rows=[admin_pb2.ReportRow(campaign_id="c1", metrics=metrics)], totals=metrics)


def _request(*argv: str) -> admin_pb2.RunReportRequest:
    return report_request(build_parser().parse_args(["report", "run", *argv]))


def test_ctr_and_conversion_rate_print_as_percentages_and_roas_as_a_multiple() -> None:
    """CTR 2/3 prints 66.67%, conversion rate 0.25 prints 25.00%, ROAS 18700 prints 18,700.00x."""
    (row, _total) = list(csv.DictReader(io.StringIO(report_csv(_response(), ["campaign"], requests=False))))
    assert (row["ctr"], row["conversion_rate"], row["roas"]) == ("66.67%", "25.00%", "18,700.00x")


def test_report_by_campaign_has_no_requests_column() -> None:
    """Requests belong to no campaign: a report by campaign shows no requests column rather than zeros."""
    request = _request("--by", "campaign,day")
    assert not shows_requests(request, ["campaign", "day"])
    header = report_csv(_response(), ["campaign", "day"], requests=False).splitlines()[0].split(",")
    assert "requests" not in header
    assert "impressions" in header


def test_report_by_store_and_day_keeps_requests() -> None:
    """A report by store and day, unfiltered by campaign, can count requests per row and shows them."""
    assert shows_requests(_request("--by", "store,day"), ["store", "day"])


def test_report_filtered_on_a_campaign_has_no_requests_column() -> None:
    """A campaign filter leaves the edges' request counts unattributable, so the column goes too."""
    assert not shows_requests(_request("--by", "day", "--campaign", "c1"), ["day"])


def test_the_impression_ladder_prints_plays_impressions_and_viewability() -> None:
    """Plays and impressions print as counts and the viewability rate (3 of 4 plays) as 75.00%."""
    metrics = admin_pb2.ReportMetrics(plays=4, impressions=3, viewability_rate=0.75)
    response = admin_pb2.RunReportResponse(rows=[admin_pb2.ReportRow(line_item_id="li1", metrics=metrics)])
    (row, _total) = list(csv.DictReader(io.StringIO(report_csv(response, ["line_item"], requests=False))))
    assert (row["plays"], row["impressions"], row["viewability_rate"]) == ("4", "3", "75.00%")


def test_delivery_status_prints_the_summary_stores_and_reasons() -> None:
    """`delivery status` prints the state line, the summary, one row per store and each reason."""
    response = admin_pb2.GetDeliveryStatusResponse(
        campaign_id="c1",
        state="behind plan",
        pacing_rate=0.5,
        summary="Spent $1.00 today of a $4.00 plan ($2.00 planned by now): behind plan.",
        stores=[admin_pb2.StoreDelivery(store_id="store-1", serving=True, spend_today_micros=1_000_000)],
        reasons=[admin_pb2.DeliveryReason(code="THROTTLED", store_id="store-1", text="pacing held it back")],
    )
    lines = delivery_text(response).splitlines()
    assert lines[0] == "campaign c1: behind plan (pacing rate 50%)"
    assert lines[1] == response.summary
    assert lines[4].split()[:3] == ["store-1", "yes", "$1.00"]
    assert lines[-1] == "  - pacing held it back"
