"""RunReport without I/O: the request checked and turned into a rollup query, and the grouped sums
turned into rows, totals and experiment lift. Pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cartads import bounds
from cartads.time_units import DAY_US, HOUR_US, hour_start_us, ts_to_us, us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin.validation import Violation, check_id, check_timestamp
from cloud_core.reports.invalid import KNOWN_RULES, RULE_DIMENSION, InvalidQuery, invalid_key_values, invalid_query
from cloud_core.reports.metrics import (
    Delivery,
    Estimate,
    TripSums,
    invalid_traffic_rate,
    mean_lift,
    proportion_lift,
    rates,
    viewability_rate,
)
from cloud_core.reports.rollups import CAMPAIGN_LEVEL_COLUMNS, GROUP_COLUMNS, ReportFilter, ReportQuery

# A report reads at most this much time: hourly rollups over ~13 months.
MAX_RANGE_US = bounds.MAX_REPORT_DAYS * DAY_US
MAX_FILTER_IDS = 500

DIMENSIONS: Mapping[int, str] = {
    admin_pb2.REPORT_DIMENSION_CAMPAIGN: "campaign",
    admin_pb2.REPORT_DIMENSION_LINE_ITEM: "line_item",
    admin_pb2.REPORT_DIMENSION_CREATIVE: "creative",
    admin_pb2.REPORT_DIMENSION_STORE: "store",
    admin_pb2.REPORT_DIMENSION_DAY: "day",
    admin_pb2.REPORT_DIMENSION_HOUR: "hour",
    admin_pb2.REPORT_DIMENSION_EXPERIMENT_ARM: "arm",
    admin_pb2.REPORT_DIMENSION_INVALID_TRAFFIC_RULE: RULE_DIMENSION,
}
# Requests belong to a store and an hour, never to a campaign or an arm.
REQUEST_DIMENSIONS = frozenset({"store", "day", "hour"})


@dataclass(frozen=True)
class ReportPlan:
    """A checked report request: its dimensions (in request order), rollup query and day zone."""

    dimensions: tuple[str, ...]
    query: ReportQuery
    tz: tzinfo
    # The read of its invalid traffic counts (None: the report has none), and whether it reads
    # delivery at all (not by rule: those rows are invalid events only).
    invalid: InvalidQuery | None = None
    delivery: bool = True

    @property
    def queries(self) -> tuple[ReportQuery, ...]:
        """``query`` split into hourly edges and whole UTC days read from the daily rollup, when
        no dimension needs hours (hour, or day in another zone than UTC)."""
        return split_by_days(
            self.query, daily_ok="hour" not in self.dimensions and ("day" not in self.dimensions or self.tz is UTC)
        )


def _zone(name: str) -> tzinfo | None:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _check_ids(values: Sequence[str], field: str) -> list[Violation]:
    if len(values) > MAX_FILTER_IDS:
        return [(field, f"must name at most {MAX_FILTER_IDS} ids")]
    out: list[Violation] = []
    for i, value in enumerate(values):
        out += check_id(value, f"{field}[{i}]")
    return out


def check_report_request(request: admin_pb2.RunReportRequest) -> list[Violation]:
    """Dimensions known and unique, a time range of at most MAX_RANGE_US, a known zone, valid ids."""
    out: list[Violation] = []
    seen: set[int] = set()
    for i, dim in enumerate(request.dimensions):
        if dim not in DIMENSIONS:
            out.append((f"dimensions[{i}]", "is not a known report dimension"))
        elif dim in seen:
            out.append((f"dimensions[{i}]", "is named twice"))
        seen.add(dim)
    times_valid = True
    for name in ("start_time", "end_time"):
        if not request.HasField(name):
            out.append((name, "is required"))
            continue
        problems = check_timestamp(getattr(request, name), name)
        out += problems
        times_valid = times_valid and not problems
    if times_valid and request.HasField("start_time") and request.HasField("end_time"):
        start, end = ts_to_us(request.start_time), ts_to_us(request.end_time)
        if end <= start:
            out.append(("end_time", "must be after start_time"))
        elif end - start > MAX_RANGE_US:
            out.append(("end_time", f"a report spans at most {MAX_RANGE_US // (24 * HOUR_US)} days"))
    if _zone(request.time_zone) is None:
        out.append(("time_zone", "is not a known IANA time zone"))
    if request.advertiser_id:
        out += check_id(request.advertiser_id, "advertiser_id")
    if request.layer_id:
        out += check_id(request.layer_id, "layer_id")
    for name in ("campaign_ids", "line_item_ids", "creative_ids", "store_ids"):
        out += _check_ids(list(getattr(request, name)), name)
    for i, rule in enumerate(request.invalid_traffic_rules):
        if rule not in KNOWN_RULES:
            out.append((f"invalid_traffic_rules[{i}]", "is not a known invalid traffic rule"))
    if admin_pb2.REPORT_DIMENSION_INVALID_TRAFFIC_RULE in seen:
        # Invalid events are counted per campaign, line item, store, hour and rule only.
        unserved = seen & {admin_pb2.REPORT_DIMENSION_CREATIVE, admin_pb2.REPORT_DIMENSION_EXPERIMENT_ARM}
        if unserved or request.creative_ids or request.layer_id:
            out.append(("dimensions", "a report by invalid traffic rule cannot be by or filtered by creative or arm"))
    return out


def plan_report(request: admin_pb2.RunReportRequest) -> ReportPlan:
    """The plan of a request that ``check_report_request`` accepted."""
    dims = tuple(DIMENSIONS[d] for d in request.dimensions)
    columns: list[str] = []
    for dim in dims:
        columns.extend(c for c in GROUP_COLUMNS.get(dim, ()) if c not in columns)
    start = hour_start_us(ts_to_us(request.start_time))
    end = ts_to_us(request.end_time)
    end = hour_start_us(end) + (HOUR_US if end % HOUR_US else 0)  # whole hours, rounded out
    where = ReportFilter(
        start_us=start,
        end_us=end,
        advertiser_id=request.advertiser_id,
        campaign_ids=tuple(request.campaign_ids),
        line_item_ids=tuple(request.line_item_ids),
        creative_ids=tuple(request.creative_ids),
        store_ids=tuple(request.store_ids),
        layer_id=request.layer_id,
    )
    tz = _zone(request.time_zone) or UTC
    invalid = invalid_query(dims, where, list(request.invalid_traffic_rules))
    by_rule = RULE_DIMENSION in dims
    return ReportPlan(dims, ReportQuery(tuple(columns), where, by_arm="arm" in dims), tz, invalid, not by_rule)


def split_by_days(query: ReportQuery, *, daily_ok: bool) -> tuple[ReportQuery, ...]:
    """``query`` as hourly reads of the partial days at either end and one daily read between."""
    start, end = query.where.start_us, query.where.end_us
    first = -(-start // DAY_US) * DAY_US
    last = end - end % DAY_US
    if not daily_ok or last <= first:
        return (query,)
    parts = [(first, last, True)]
    if start < first:
        parts.insert(0, (start, first, False))
    if last < end:
        parts.append((last, end, False))
    f = query.where
    coarse = set(query.columns) <= CAMPAIGN_LEVEL_COLUMNS and not f.store_ids and not f.creative_ids
    daily_table = "daily_campaign" if coarse else "daily"
    return tuple(
        dataclasses.replace(
            query, where=dataclasses.replace(f, start_us=s, end_us=e), table=daily_table if daily else "hourly"
        )
        for s, e, daily in parts
    )


def _day(hour_us: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(hour_us / 1_000_000, tz).date().isoformat()


RowKey = tuple[Any, ...]


def fold_rows(plan: ReportPlan, grouped: Sequence[tuple[tuple[Any, ...], Delivery]]) -> dict[RowKey, Delivery]:
    """Sums per report row: the query's groups with hours folded into days where asked."""
    position = {c: i for i, c in enumerate(plan.query.columns)}
    out: dict[RowKey, Delivery] = {}
    for values, delivery in grouped:
        key: list[Any] = []
        for dim in plan.dimensions:
            if dim == "day":
                key.append(_day(int(values[position["hour_start_us"]]), plan.tz))
            elif dim == "arm":
                key.append((str(values[position["layer_id"]]), str(values[position["arm_id"]])))
            elif dim == "hour":
                key.append(int(values[position["hour_start_us"]]))
            else:
                key.append(str(values[position[GROUP_COLUMNS[dim][0]]]))
        k = tuple(key)
        out[k] = out[k] + delivery if k in out else delivery
    return out


def add_invalid(
    plan: ReportPlan, rows: Mapping[RowKey, Delivery], grouped: Sequence[tuple[tuple[Any, ...], Delivery]]
) -> dict[RowKey, Delivery]:
    """``rows`` with the invalid counts (grouped by ``plan.invalid``) added to the rows they belong to."""
    out = dict(rows)
    if plan.invalid is None:
        return out
    for values, counts in grouped:
        key: list[Any] = []
        for dim, value in invalid_key_values(plan.invalid, plan.dimensions, values):
            if dim == "day":
                key.append(_day(int(value), plan.tz))
            elif dim in ("hour", RULE_DIMENSION):
                key.append(int(value))
            else:
                key.append(str(value))
        k = tuple(key)
        out[k] = out.get(k, Delivery()) + counts
    return out


def request_columns(plan: ReportPlan) -> tuple[str, ...] | None:
    """The request-count columns to group by, or None when the report cannot show requests: a
    dimension or filter other than store, day and hour (requests belong to no campaign or arm)."""
    f = plan.query.where
    if not set(plan.dimensions) <= REQUEST_DIMENSIONS:
        return None
    if f.advertiser_id or f.campaign_ids or f.line_item_ids or f.creative_ids or f.layer_id:
        return None
    columns = ["store_id"] if "store" in plan.dimensions else []
    if "day" in plan.dimensions or "hour" in plan.dimensions:
        columns.append("hour_start_us")
    return tuple(columns)


def add_requests(
    plan: ReportPlan,
    rows: Mapping[RowKey, Delivery],
    columns: Sequence[str],
    requests: Sequence[tuple[tuple[Any, ...], int]],
) -> dict[RowKey, Delivery]:
    """``rows`` with the request counts (grouped by ``columns``) added to the rows they belong to."""
    out = dict(rows)
    for values, n in requests:
        named = dict(zip(columns, values, strict=True))
        key: list[Any] = []
        for dim in plan.dimensions:
            if dim == "store":
                key.append(str(named["store_id"]))
            elif dim == "day":
                key.append(_day(int(named["hour_start_us"]), plan.tz))
            else:
                key.append(int(named["hour_start_us"]))
        k = tuple(key)
        out[k] = out.get(k, Delivery()) + Delivery(requests=n)
    return out


def metrics_pb(d: Delivery) -> admin_pb2.ReportMetrics:
    """The ReportMetrics of ``d``."""
    r = rates(d)
    return admin_pb2.ReportMetrics(
        requests=d.requests,
        impressions=d.impressions,
        clicks=d.clicks,
        conversions=d.conversions,
        spend_micros=d.spend_micros,
        ctr=r.ctr,
        conversion_rate=r.conversion_rate,
        ecpm_micros=r.ecpm_micros,
        attributed_sales_micros=d.sales_micros,
        roas=r.roas,
        invalid_impressions=d.invalid_impressions,
        invalid_clicks=d.invalid_clicks,
        invalid_conversions=d.invalid_conversions,
        invalid_events=d.invalid_events,
        invalid_traffic_rate=invalid_traffic_rate(d),
        over_delivery_micros=d.over_delivery_micros,
        over_delivered_events=d.over_delivered_events,
        plays=d.plays,
        viewability_rate=viewability_rate(d),
        click_through_sales_units=d.ct_sales_units,
        click_through_sales_micros=d.ct_sales_micros,
        view_through_sales_units=d.vt_sales_units,
        view_through_sales_micros=d.vt_sales_micros,
        halo_sales_units=d.halo_sales_units,
        halo_sales_micros=d.halo_sales_micros,
    )


def _row_pb(plan: ReportPlan, key: RowKey, delivery: Delivery) -> admin_pb2.ReportRow:
    row = admin_pb2.ReportRow(metrics=metrics_pb(delivery))
    for dim, value in zip(plan.dimensions, key, strict=True):
        if dim == "arm":
            row.layer_id, row.arm_id = value
        elif dim == "hour":
            row.hour_start_time.CopyFrom(us_to_ts(value))
        elif dim == "day":
            row.day = value
        elif dim == RULE_DIMENSION:
            row.invalid_traffic_rule = value
        else:
            setattr(row, f"{dim}_id", value)
    return row


def _estimate_pb(estimate: Estimate | None) -> admin_pb2.LiftEstimate | None:
    if estimate is None:
        return None
    return admin_pb2.LiftEstimate(
        difference=estimate.difference,
        ci_low=estimate.ci_low,
        ci_high=estimate.ci_high,
        standard_error=estimate.standard_error,
        relative=estimate.relative,
        significant=estimate.significant,
    )


def layer_lifts(
    trip_sums: Sequence[tuple[str, str, TripSums]], holdout_arms: Mapping[str, frozenset[str]]
) -> list[admin_pb2.LayerLift]:
    """Per layer with trips: each arm's outcomes, and exposed (non-holdout arms pooled) against holdout.

    ``holdout_arms`` maps each known layer to its holdout arm ids; layers it does not know (deleted
    since) are left out, since which arm was held out is no longer known.
    """
    by_layer: dict[str, list[tuple[str, TripSums]]] = {}
    for layer_id, arm_id, sums in trip_sums:
        by_layer.setdefault(layer_id, []).append((arm_id, sums))
    out = []
    for layer_id in sorted(by_layer):
        if layer_id not in holdout_arms:
            continue
        holdouts = holdout_arms[layer_id]
        lift = admin_pb2.LayerLift(layer_id=layer_id)
        exposed, held = TripSums(), TripSums()
        for arm_id, sums in sorted(by_layer[layer_id]):
            is_holdout = arm_id in holdouts
            lift.arms.add(
                arm_id=arm_id,
                holdout=is_holdout,
                trips=sums.trips,
                converting_trips=sums.converting_trips,
                sales_micros=sums.sales_micros,
                conversion_rate=sums.conversion_rate,
                sales_per_trip_micros=sums.sales_per_trip_micros,
            )
            if is_holdout:
                held = held + sums
            else:
                exposed = exposed + sums
        if (conversion := _estimate_pb(proportion_lift(exposed, held))) is not None:
            lift.conversion_rate_lift.CopyFrom(conversion)
        if (sales := _estimate_pb(mean_lift(exposed, held))) is not None:
            lift.sales_per_trip_lift.CopyFrom(sales)
        out.append(lift)
    return out


def _sort_key(key: RowKey) -> tuple[str, ...]:
    return tuple(str(v) if not isinstance(v, int) else f"{v:020d}" for v in key)


def totals_queries(plan: ReportPlan) -> tuple[ReportQuery, ...]:
    """The queries of a report's totals when its rows cannot be summed: an event is in one arm of
    every layer, so rows by arm count it once per layer (and never count trips in no arm)."""
    if not plan.query.by_arm:
        return ()
    return split_by_days(ReportQuery((), plan.query.where, by_arm=False), daily_ok=True)


def report_response(
    plan: ReportPlan,
    rows: Mapping[RowKey, Delivery],
    lifts: Sequence[admin_pb2.LayerLift],
    totals: Delivery | None = None,
) -> admin_pb2.RunReportResponse:
    """Rows in dimension order, the totals (the rows' sum unless given) and the lifts."""
    response = admin_pb2.RunReportResponse(lifts=lifts)
    total = Delivery()
    for key in sorted(rows, key=_sort_key):
        response.rows.append(_row_pb(plan, key, rows[key]))
        total = total + rows[key]
    response.totals.CopyFrom(metrics_pb(totals if totals is not None else total))
    return response
