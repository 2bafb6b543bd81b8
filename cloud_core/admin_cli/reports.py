"""``cartads-admin report run`` (table, CSV or JSON export) and ``cartads-admin experiments ...``."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format

from cartads.v1 import admin_pb2
from cloud_core.admin_cli.commands import Stub, UsageError, emit, parse_time

DIMENSIONS = {
    "campaign": admin_pb2.REPORT_DIMENSION_CAMPAIGN,
    "line_item": admin_pb2.REPORT_DIMENSION_LINE_ITEM,
    "creative": admin_pb2.REPORT_DIMENSION_CREATIVE,
    "store": admin_pb2.REPORT_DIMENSION_STORE,
    "day": admin_pb2.REPORT_DIMENSION_DAY,
    "hour": admin_pb2.REPORT_DIMENSION_HOUR,
    "arm": admin_pb2.REPORT_DIMENSION_EXPERIMENT_ARM,
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
}
METRIC_COLUMNS = (
    "requests",
    "impressions",
    "clicks",
    "conversions",
    "spend_micros",
    "ctr",
    "conversion_rate",
    "ecpm_micros",
    "attributed_sales_micros",
    "roas",
)


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
    if column in METRIC_COLUMNS:
        value = getattr(row.metrics, column)
        return f"{value:.6g}" if isinstance(value, float) else str(value)
    return str(getattr(row, column))


def report_columns(dimensions: Sequence[str]) -> list[str]:
    """Header of a report by ``dimensions``: their columns, then every metric."""
    return [c for d in dimensions for c in DIMENSION_COLUMNS[d]] + list(METRIC_COLUMNS)


def report_csv(response: admin_pb2.RunReportResponse, dimensions: Sequence[str]) -> str:
    """The rows as CSV with a header; the totals row last, its dimension cells reading "total"."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = report_columns(dimensions)
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


def report_run(stub: Stub, args: argparse.Namespace) -> None:
    """Run a report and print it as a table, CSV or JSON (to --output when given)."""
    request = report_request(args)
    response = stub.RunReport(request)
    dimensions = parse_dimensions(args.by or "")
    fmt = "json" if args.json else args.format
    if fmt == "json":
        text = json.dumps(
            json_format.MessageToDict(response, preserving_proto_field_name=True), indent=2, sort_keys=True
        )
    elif fmt == "csv":
        text = report_csv(response, dimensions).rstrip("\n")
    else:
        text = _table(response, dimensions)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        print(f"wrote {len(response.rows)} rows to {args.output}", file=sys.stderr)
    else:
        print(text)


def _table(response: admin_pb2.RunReportResponse, dimensions: Sequence[str]) -> str:
    columns = report_columns(dimensions)
    rows = [columns] + [[_cell(r, c) for c in columns] for r in response.rows]
    total = admin_pb2.ReportRow(metrics=response.totals)
    rows.append(["total" if c not in METRIC_COLUMNS else _cell(total, c) for c in columns])
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for lift in response.lifts:
        lines.extend(_lift_text(lift))
    return "\n".join(lines)


# ---- experiments ----

_OVERRIDE_TYPES = {"reserve_cpm_micros": int, "click_rate_weight": float, "max_ads_per_trip": int}


def parse_arm(text: str) -> admin_pb2.ExperimentArm:
    """``ID:BPS``, ``ID:BPS:holdout`` or ``ID:BPS:key=value,key=value`` (reserve_cpm_micros,
    click_rate_weight, max_ads_per_trip)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise UsageError(f"--arm {text!r}: expected ID:BPS[:holdout|key=value,...]")
    try:
        arm = admin_pb2.ExperimentArm(arm_id=parts[0], traffic_bps=int(parts[1]))
    except ValueError as exc:
        raise UsageError(f"--arm {text!r}: traffic share must be whole basis points") from exc
    if len(parts) == 3:
        if parts[2] == "holdout":
            arm.holdout = True
            return arm
        for pair in parts[2].split(","):
            key, sep, value = pair.partition("=")
            if not sep or key not in _OVERRIDE_TYPES:
                raise UsageError(f"--arm {text!r}: overrides are {', '.join(_OVERRIDE_TYPES)} (key=value)")
            try:
                setattr(arm.overrides, key, _OVERRIDE_TYPES[key](value))
            except ValueError as exc:
                raise UsageError(f"--arm {text!r}: {key} needs a number") from exc
    return arm


def _arms_summary(layer: admin_pb2.ExperimentLayer) -> str:
    out = []
    for arm in layer.arms:
        extra = ["holdout"] if arm.holdout else []
        extra += [f"{k}={getattr(arm.overrides, k):g}" for k in _OVERRIDE_TYPES if arm.overrides.HasField(k)]
        out.append(f"{arm.arm_id}:{arm.traffic_bps}" + (f"({','.join(extra)})" if extra else ""))
    return " ".join(out)


def _print_layers(args: argparse.Namespace, layers: Sequence[admin_pb2.ExperimentLayer], single: bool = False) -> None:
    if args.json:
        emit(args, layers, [], single=single)
        return
    for layer in layers:
        state = admin_pb2.ServingState.Name(layer.state).removeprefix("SERVING_STATE_").lower()
        print(f"{layer.layer_id}  {state}  {layer.display_name}  salt={layer.salt}  arms: {_arms_summary(layer)}")


def experiments_create(stub: Stub, args: argparse.Namespace) -> None:
    layer = admin_pb2.ExperimentLayer(
        display_name=args.name, salt=args.salt or "", arms=[parse_arm(a) for a in args.arm or []]
    )
    if args.paused:
        layer.state = admin_pb2.SERVING_STATE_PAUSED
    response = stub.CreateExperimentLayer(
        admin_pb2.CreateExperimentLayerRequest(experiment_layer=layer, layer_id=args.id or "")
    )
    _print_layers(args, [response.experiment_layer], single=True)


def experiments_get(stub: Stub, args: argparse.Namespace) -> None:
    response = stub.GetExperimentLayer(admin_pb2.GetExperimentLayerRequest(layer_id=args.id))
    _print_layers(args, [response.experiment_layer], single=True)


def experiments_list(stub: Stub, args: argparse.Namespace) -> None:
    request = admin_pb2.ListExperimentLayersRequest(page_size=1000)
    layers: list[admin_pb2.ExperimentLayer] = []
    while True:
        response = stub.ListExperimentLayers(request)
        layers.extend(response.experiment_layers)
        if not response.next_page_token:
            break
        request.page_token = response.next_page_token
    _print_layers(args, layers)


def _set_state(stub: Stub, args: argparse.Namespace, state: int) -> None:
    layer = admin_pb2.ExperimentLayer(layer_id=args.id, state=state)  # type: ignore[arg-type]
    request = admin_pb2.UpdateExperimentLayerRequest(experiment_layer=layer)
    request.update_mask.paths.append("state")
    _print_layers(args, [stub.UpdateExperimentLayer(request).experiment_layer], single=True)


def experiments_pause(stub: Stub, args: argparse.Namespace) -> None:
    _set_state(stub, args, admin_pb2.SERVING_STATE_PAUSED)


def experiments_resume(stub: Stub, args: argparse.Namespace) -> None:
    _set_state(stub, args, admin_pb2.SERVING_STATE_ACTIVE)


def experiments_delete(stub: Stub, args: argparse.Namespace) -> None:
    stub.DeleteExperimentLayer(admin_pb2.DeleteExperimentLayerRequest(layer_id=args.id))
    print(f"deleted experiment layer {args.id}")


def add_report_run(sub: Any) -> None:
    """Register ``report run`` in the ``report`` group's subparsers."""
    help_text = "metrics by any of campaign, line item, creative, store, day, hour and arm, with lift"
    p = sub.add_parser("run", help=help_text, description=help_text)
    p.set_defaults(handler=report_run)
    p.add_argument("--by", default="", help=f"comma-separated dimensions: {', '.join(DIMENSIONS)}")
    p.add_argument("--from", dest="start", help="start time, ISO 8601 (default: 24 hours ago)")
    p.add_argument("--to", dest="end", help="end time, ISO 8601 (default: now)")
    p.add_argument("--advertiser")
    p.add_argument("--campaign", action="append", help="only this campaign (repeatable)")
    p.add_argument("--line-item", action="append", help="only this line item (repeatable)")
    p.add_argument("--creative", action="append", help="only this creative (repeatable)")
    p.add_argument("--store", action="append", help="only this store (repeatable)")
    p.add_argument("--layer", help="only this experiment layer's arms and lift")
    p.add_argument("--time-zone", help="IANA zone of the day dimension (default UTC)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--output", help="write the export to this file instead of stdout")


def add_experiments_group(root: Any) -> None:
    """Register ``experiments create|get|list|pause|resume|delete``."""
    help_text = "layered experiments: arms with traffic shares, overrides and holdouts"
    group = root.add_parser("experiments", help=help_text, description=help_text)
    sub = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("create", help="create a layer (active unless --paused)")
    p.set_defaults(handler=experiments_create)
    p.add_argument("--id")
    p.add_argument("--name", required=True)
    p.add_argument("--salt", help="hash salt (default: a random one)")
    p.add_argument("--paused", action="store_true")
    p.add_argument(
        "--arm",
        action="append",
        required=True,
        help="ID:BPS, ID:BPS:holdout or ID:BPS:reserve_cpm_micros=N,click_rate_weight=X,max_ads_per_trip=N",
    )
    for name, handler, text in (
        ("get", experiments_get, "show a layer"),
        ("pause", experiments_pause, "stop a layer (its trips serve normally)"),
        ("resume", experiments_resume, "start a paused layer again"),
        ("delete", experiments_delete, "delete a layer"),
    ):
        q = sub.add_parser(name, help=text)
        q.set_defaults(handler=handler)
        q.add_argument("id")
    sub.add_parser("list", help="every layer").set_defaults(handler=experiments_list)
