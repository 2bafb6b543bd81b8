"""``cartads-admin report spend``, ``report run`` (a table, or a CSV or JSON export), ``report
export|job|download`` (long reports as jobs) and ``delivery status`` (why a campaign or line item
is, or is not, delivering)."""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin_cli.command import Stub, Subcommands, UsageError, add_command, add_group, parse_time
from cloud_core.admin_cli.output import emit, emit_json_or, message_json, table_lines

DIMENSIONS = {
    "campaign": admin_pb2.REPORT_DIMENSION_CAMPAIGN,
    "line_item": admin_pb2.REPORT_DIMENSION_LINE_ITEM,
    "creative": admin_pb2.REPORT_DIMENSION_CREATIVE,
    "store": admin_pb2.REPORT_DIMENSION_STORE,
    "day": admin_pb2.REPORT_DIMENSION_DAY,
    "hour": admin_pb2.REPORT_DIMENSION_HOUR,
    "arm": admin_pb2.REPORT_DIMENSION_EXPERIMENT_ARM,
    "ivt_rule": admin_pb2.REPORT_DIMENSION_INVALID_TRAFFIC_RULE,
}
# Report columns per dimension, in the row message.
DIMENSION_COLUMNS = {
    "campaign": ("campaign_id",),
    "line_item": ("line_item_id",),
    "creative": ("creative_id",),
    "store": ("store_id",),
    "day": ("day",),
    "hour": ("hour_start_time",),
    "arm": ("layer_id", "arm_id"),
    "ivt_rule": ("invalid_traffic_rule",),
}
METRIC_COLUMNS = (
    "requests",
    # The impression ladder: ad plays (put on screen), viewable impressions, and viewable / plays.
    "plays",
    "impressions",
    "viewability_rate",
    "clicks",
    "conversions",
    "spend_micros",
    "ctr",
    "conversion_rate",
    "ecpm_micros",
    "attributed_sales_micros",
    "roas",
    # Purchases at checkout credited to the ads (README, "Measurement"), click- and view-through,
    # and the brand's other products apart (halo).
    "click_through_sales_units",
    "click_through_sales_micros",
    "view_through_sales_units",
    "view_through_sales_micros",
    "halo_sales_units",
    "halo_sales_micros",
    "invalid_impressions",
    "invalid_clicks",
    "invalid_conversions",
    "invalid_events",
    "invalid_traffic_rate",
)
# Ratios shown as percentages in tables and CSV (JSON keeps the raw ratio); ROAS shows as a multiple.
PERCENT_COLUMNS = frozenset({"viewability_rate", "ctr", "conversion_rate", "invalid_traffic_rate"})
# The edges count requests per store and hour only: a request that got no ad belongs to no campaign,
# line item, creative or arm, so a report by or filtered on one of those has no request count to show.
REQUEST_DIMENSIONS = frozenset({"store", "day", "hour"})
_RULE_PREFIX = "INVALID_TRAFFIC_RULE_"


def parse_dimensions(text: str) -> list[str]:
    """``campaign,day`` → the dimension names, checked."""
    names = [n.strip().replace("-", "_") for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise UsageError(f"unknown dimension(s) {', '.join(unknown)}; choose from {', '.join(DIMENSIONS)}")
    return names


def report_request(args: argparse.Namespace) -> admin_pb2.RunReportRequest:
    """The RunReport request of ``report run``'s arguments (default range: the last 24 hours)."""
    now = datetime.now(UTC)
    request = admin_pb2.RunReportRequest(
        dimensions=[DIMENSIONS[d] for d in parse_dimensions(args.by or "")],
        advertiser_id=args.advertiser or "",
        campaign_ids=args.campaign or [],
        line_item_ids=args.line_item or [],
        creative_ids=args.creative or [],
        store_ids=args.store or [],
        layer_id=args.layer or "",
        time_zone=args.time_zone or "",
    )
    request.start_time.CopyFrom(parse_time(args.start or (now - timedelta(days=1)).isoformat()))
    request.end_time.CopyFrom(parse_time(args.end or now.isoformat()))
    return request


def _cell(row: admin_pb2.ReportRow, column: str) -> str:
    if column == "hour_start_time":
        return row.hour_start_time.ToJsonString() if row.HasField("hour_start_time") else ""
    if column == "invalid_traffic_rule":
        return common_pb2.InvalidTrafficRule.Name(row.invalid_traffic_rule).removeprefix(_RULE_PREFIX)
    if column in PERCENT_COLUMNS:
        return f"{getattr(row.metrics, column):.2%}"
    if column == "roas":
        return f"{row.metrics.roas:,.2f}x"
    if column in METRIC_COLUMNS:
        value = getattr(row.metrics, column)
        return f"{value:.6g}" if isinstance(value, float) else str(value)
    return str(getattr(row, column))


def shows_requests(request: admin_pb2.RunReportRequest, dimensions: Sequence[str]) -> bool:
    """Whether the report can count requests in each row (the cloud's rule; otherwise it answers 0)."""
    filtered = request.advertiser_id or request.campaign_ids or request.line_item_ids or request.creative_ids
    return set(dimensions) <= REQUEST_DIMENSIONS and not filtered and not request.layer_id


def report_columns(dimensions: Sequence[str], *, requests: bool = True) -> list[str]:
    """Header of a report by ``dimensions``: their columns, then every metric (``requests`` only
    when the report can count them)."""
    metrics = [c for c in METRIC_COLUMNS if requests or c != "requests"]
    return [c for d in dimensions for c in DIMENSION_COLUMNS[d]] + metrics


def report_csv(response: admin_pb2.RunReportResponse, dimensions: Sequence[str], *, requests: bool = True) -> str:
    """The rows as CSV with a header; the totals row last, its dimension cells reading "total"."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = report_columns(dimensions, requests=requests)
    writer.writerow(columns)
    for row in response.rows:
        writer.writerow([_cell(row, c) for c in columns])
    total = admin_pb2.ReportRow(metrics=response.totals)
    writer.writerow(["total" if c not in METRIC_COLUMNS else _cell(total, c) for c in columns])
    return out.getvalue()


def _lift_text(lift: admin_pb2.LayerLift) -> list[str]:
    lines = [f"layer {lift.layer_id}:"]
    for arm in lift.arms:
        kind = "holdout" if arm.holdout else "exposed"
        lines.append(
            f"  arm {arm.arm_id} ({kind}): trips={arm.trips} converting={arm.converting_trips} "
            f"rate={arm.conversion_rate:.4f} sales_per_trip_micros={arm.sales_per_trip_micros:.0f}"
        )
    for label, field in (("conversion rate", "conversion_rate_lift"), ("sales per trip", "sales_per_trip_lift")):
        if not lift.HasField(field):
            continue
        est = getattr(lift, field)
        mark = " significant" if est.significant else ""
        lines.append(
            f"  lift in {label}: {est.difference:+.6g} (95% CI {est.ci_low:+.6g} .. {est.ci_high:+.6g}, "
            f"relative {est.relative:+.2%}){mark}"
        )
    return lines


def report_spend(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.GetSpendReportRequest(store_id=args.store or "", advertiser_id=args.advertiser or "")
    response = stub.GetSpendReport(req)
    if args.json:
        emit_json_or(args, response, "")
        return
    cols = [
        "campaign_id",
        "advertiser_id",
        "display_name",
        "impressions",
        "clicks",
        "conversions",
        "spend_micros",
        "budget_micros",
        # Delivered past the budget, at the price it would have cost: never charged.
        "over_delivery_micros",
        "invalid_events",
        "invalid_traffic_rate",
    ]
    emit(args, list(response.campaigns), cols)
    print(f"total_spend_micros={response.total_spend_micros} billed_event_count={response.billed_event_count}")


def report_run(stub: Stub, args: argparse.Namespace) -> None:
    """Run a report and print it as a table, CSV or JSON (to --output when given)."""
    request = report_request(args)
    response = stub.RunReport(request)
    dimensions = parse_dimensions(args.by or "")
    requests = shows_requests(request, dimensions)
    fmt = "json" if args.json else args.format
    if fmt == "json":
        text = message_json(response)
    elif fmt == "csv":
        text = report_csv(response, dimensions, requests=requests).rstrip("\n")
    else:
        text = _table(response, dimensions, requests=requests)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        print(f"wrote {len(response.rows)} rows to {args.output}", file=sys.stderr)
    else:
        print(text)


def _table(response: admin_pb2.RunReportResponse, dimensions: Sequence[str], *, requests: bool) -> str:
    columns = report_columns(dimensions, requests=requests)
    rows = [columns] + [[_cell(r, c) for c in columns] for r in response.rows]
    total = admin_pb2.ReportRow(metrics=response.totals)
    rows.append(["total" if c not in METRIC_COLUMNS else _cell(total, c) for c in columns])
    lines = table_lines(rows)
    for lift in response.lifts:
        lines.extend(_lift_text(lift))
    return "\n".join(lines)


EXPORT_DONE = frozenset({admin_pb2.REPORT_EXPORT_STATE_SUCCEEDED, admin_pb2.REPORT_EXPORT_STATE_FAILED})


def _export_text(export: admin_pb2.ReportExport) -> str:
    state = admin_pb2.ReportExportState.Name(export.state).removeprefix("REPORT_EXPORT_STATE_")
    text = f"{export.export_id}  {state}  stores {export.stores_done}/{export.stores_total}"
    if export.state == admin_pb2.REPORT_EXPORT_STATE_SUCCEEDED:
        text += f"  {export.row_count} rows  {export.byte_count} bytes"
    if export.error:
        text += f"  error: {export.error}"
    return text


def report_export(stub: Stub, args: argparse.Namespace) -> None:
    """Start an export job of the report the flags describe; prints its id (poll with ``report job``)."""
    response = stub.CreateReportExport(admin_pb2.CreateReportExportRequest(report=report_request(args)))
    emit_json_or(args, response.export, response.export.export_id)


def report_job(stub: Stub, args: argparse.Namespace) -> int:
    """An export's state and progress; with --wait, polls until it has finished (1 if it FAILED)."""
    while True:
        export = stub.GetReportExport(admin_pb2.GetReportExportRequest(export_id=args.id)).export
        if not args.wait or export.state in EXPORT_DONE:
            break
        time.sleep(args.poll_s)
    emit_json_or(args, export, _export_text(export))
    return 1 if export.state == admin_pb2.REPORT_EXPORT_STATE_FAILED else 0


def report_download(stub: Stub, args: argparse.Namespace) -> None:
    """Write a finished export's CSV to --out, whole or not at all (a partial file never stays)."""
    out = Path(args.out)
    partial = out.with_name(out.name + ".part")
    size = 0
    try:
        with partial.open("wb") as f:
            for chunk in stub.DownloadReportExport(admin_pb2.DownloadReportExportRequest(export_id=args.id)):
                f.write(chunk.data)
                size += len(chunk.data)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    print(f"wrote {size} bytes to {out}", file=sys.stderr)


def _dollars(micros: int) -> str:
    return f"${micros / 1e6:,.4f}" if 0 < micros < 10_000 else f"${micros / 1e6:,.2f}"


def delivery_text(response: admin_pb2.GetDeliveryStatusResponse) -> str:
    """The status as a reader takes it in: the summary, each store's numbers, the reasons."""
    subject = f"line item {response.line_item_id}" if response.line_item_id else f"campaign {response.campaign_id}"
    lines = [f"{subject}: {response.state} (pacing rate {response.pacing_rate:.0%})", response.summary, ""]
    rows = [
        ["store", "serving", "spend today", "plan today", "planned by now", "rate", "lease", "lease spent", "until"]
    ]
    for s in response.stores:
        until = s.lease_expire_time.ToDatetime(UTC).strftime("%H:%MZ") if s.HasField("lease_expire_time") else ""
        rows.append(
            [
                s.store_id,
                "yes" if s.serving else "no",
                _dollars(s.spend_today_micros),
                _dollars(s.plan_today_micros),
                _dollars(s.planned_by_now_micros),
                f"{s.pacing_rate:.0%}",
                _dollars(s.lease_allowance_micros),
                _dollars(s.lease_spent_micros),
                until,
            ]
        )
    lines.extend(table_lines(rows) if len(rows) > 1 else ["(in no store)"])
    if response.reasons:
        lines += ["", "leading reasons (last hour):"]
        lines += [f"  - {r.text}" for r in response.reasons]
    return "\n".join(lines)


def delivery_status(stub: Stub, args: argparse.Namespace) -> None:
    """Print the delivery status of a campaign or a line item (JSON with --json)."""
    if bool(args.campaign) == bool(args.line_item):
        raise UsageError("give exactly one of --campaign and --line-item")
    request = admin_pb2.GetDeliveryStatusRequest(campaign_id=args.campaign or "", line_item_id=args.line_item or "")
    response = stub.GetDeliveryStatus(request)
    emit_json_or(args, response, delivery_text(response))


def _add_report_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--by", default="", help=f"comma-separated dimensions: {', '.join(DIMENSIONS)}")
    p.add_argument("--from", dest="start", help="start time, ISO 8601 (default: 24 hours ago)")
    p.add_argument("--to", dest="end", help="end time, ISO 8601 (default: now)")
    p.add_argument("--advertiser")
    p.add_argument("--campaign", action="append", help="only this campaign (repeatable)")
    p.add_argument("--line-item", action="append", help="only this line item (repeatable)")
    p.add_argument("--creative", action="append", help="only this creative (repeatable)")
    p.add_argument("--store", action="append", help="only this store (repeatable)")
    p.add_argument("--layer", help="only this experiment layer's arms and lift")


def register(root: Subcommands) -> None:
    group = add_group(root, "report", "reports")
    p = add_command(group, "spend", report_spend, "spend, impressions and clicks per campaign")
    p.add_argument("--store")
    p.add_argument("--advertiser")
    text = "metrics by any of campaign, line item, creative, store, day, hour and arm, with lift"
    p = add_command(group, "run", report_run, text)
    _add_report_flags(p)
    p.add_argument("--time-zone", help="IANA zone of the day dimension (default UTC)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--output", help="write the export to this file instead of stdout")
    text = "run a long report as a job: prints its id; days and hours in each store's time zone"
    p = add_command(group, "export", report_export, text)
    _add_report_flags(p)
    p.set_defaults(time_zone=None)
    p = add_command(group, "job", report_job, "an export job's state and progress")
    p.add_argument("id")
    p.add_argument("--wait", action="store_true", help="poll until the export has finished")
    p.add_argument("--poll-s", type=float, default=1.0, help="seconds between polls with --wait")
    p = add_command(group, "download", report_download, "write a finished export's CSV to a file")
    p.add_argument("id")
    p.add_argument("--out", required=True, help="the CSV file to write")
    group = add_group(root, "delivery", "delivery status: spend against plan, pacing, leases, why not delivering")
    p = add_command(group, "status", delivery_status, "a campaign's or line item's delivery status now")
    p.add_argument("--campaign", help="the campaign (all its line items)")
    p.add_argument("--line-item", help="one line item")
