"""The console's experiment results: per layer and arm, delivery and the lift over the layer's holdout.

``experiments_json`` is pure: it takes the layers, AdminService's RunReport answer by experiment
arm (delivery per arm, and each layer's pooled lift, from ``cloud_core.reports.query``) and the trip sums
per arm, and adds each exposed arm's own lift against the holdout (``cloud_core.reports.metrics``).
``read_experiments`` is the thin shell that reads those through the same report core as RunReport.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from cartads.time_units import us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin.pagination import PageRequest
from cloud_core.admin.reports import run_report
from cloud_core.reports.metrics import Estimate, TripSums, mean_lift, proportion_lift
from cloud_core.reports.query import plan_report
from cloud_core.storage.protocol import ReportStore

_PAGE = 200
DEFAULT_DAYS = 30
MAX_DAYS = 400


def _estimate(e: Estimate | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {
        "difference": e.difference,
        "ci_low": e.ci_low,
        "ci_high": e.ci_high,
        "relative": e.relative,
        "significant": e.significant,
    }


def _estimate_pb(lift: admin_pb2.LayerLift, name: str) -> dict[str, Any] | None:
    if not lift.HasField(name):
        return None
    e: admin_pb2.LiftEstimate = getattr(lift, name)
    return {
        "difference": e.difference,
        "ci_low": e.ci_low,
        "ci_high": e.ci_high,
        "relative": e.relative,
        "significant": e.significant,
    }


def _arm_ids(layer: admin_pb2.ExperimentLayer | None, seen: Sequence[str]) -> list[str]:
    """The layer's arms in its own order, then arms with data that it no longer has."""
    ids = [a.arm_id for a in layer.arms] if layer is not None else []
    return ids + sorted(set(seen) - set(ids))


def experiments_json(
    layers: Sequence[admin_pb2.ExperimentLayer],
    report: admin_pb2.RunReportResponse,
    trip_sums: Sequence[tuple[str, str, TripSums]],
    *,
    start_us: int,
    end_us: int,
) -> dict[str, Any]:
    """The experiments section: every layer (and any deleted layer with data), arm by arm."""
    delivery = {(row.layer_id, row.arm_id): row.metrics for row in report.rows}
    trips = {(layer_id, arm_id): sums for layer_id, arm_id, sums in trip_sums}
    pooled = {lift.layer_id: lift for lift in report.lifts}
    known = {layer.layer_id: layer for layer in layers}
    layer_ids = sorted(set(known) | {k[0] for k in delivery} | {k[0] for k in trips})
    out = []
    for layer_id in layer_ids:
        layer = known.get(layer_id)
        spec = {a.arm_id: a for a in layer.arms} if layer is not None else {}
        holdout_ids = {arm_id for arm_id, a in spec.items() if a.holdout}
        holdout = sum((s for (lid, aid), s in trips.items() if lid == layer_id and aid in holdout_ids), TripSums())
        seen = [aid for lid, aid in (*delivery, *trips) if lid == layer_id]
        arms = []
        for arm_id in _arm_ids(layer, seen):
            arm = spec.get(arm_id)
            m = delivery.get((layer_id, arm_id), admin_pb2.ReportMetrics())
            s = trips.get((layer_id, arm_id), TripSums())
            is_holdout = arm_id in holdout_ids
            arms.append(
                {
                    "arm_id": arm_id,
                    "display_name": arm.display_name if arm is not None else "",
                    "holdout": is_holdout,
                    "traffic_share": arm.traffic_bps / 10_000 if arm is not None else None,
                    "impressions": m.impressions,
                    "clicks": m.clicks,
                    "conversions": m.conversions,
                    "spend_micros": m.spend_micros,
                    "ctr": m.ctr,
                    "trips": s.trips,
                    "converting_trips": s.converting_trips,
                    "trip_conversion_rate": s.conversion_rate,
                    "sales_per_trip_micros": s.sales_per_trip_micros,
                    "lift": None
                    if is_holdout or not holdout_ids
                    else {
                        "conversion_rate": _estimate(proportion_lift(s, holdout)),
                        "sales_per_trip_micros": _estimate(mean_lift(s, holdout)),
                    },
                }
            )
        lift = pooled.get(layer_id)
        out.append(
            {
                "layer_id": layer_id,
                "display_name": layer.display_name if layer is not None else "",
                "deleted": layer is None,
                "active": layer is not None and layer.state == admin_pb2.SERVING_STATE_ACTIVE,
                "has_holdout": bool(holdout_ids),
                "arms": arms,
                "lift": None
                if lift is None
                else {
                    "conversion_rate": _estimate_pb(lift, "conversion_rate_lift"),
                    "sales_per_trip_micros": _estimate_pb(lift, "sales_per_trip_lift"),
                },
            }
        )
    return {"start_us": start_us, "end_us": end_us, "layers": out}


class ExperimentLayers(Protocol):
    """The layers the experiments section lists, and those whose holdout arms RunReport looks up."""

    async def list_experiment_layers(self, page: PageRequest) -> list[admin_pb2.ExperimentLayer]: ...
    async def get_experiment_layer(self, layer_id: str) -> admin_pb2.ExperimentLayer | None: ...


async def read_experiments(
    layers: ExperimentLayers, reports: ReportStore, *, start_us: int, end_us: int
) -> dict[str, Any]:
    """The experiments section over [start_us, end_us), read through RunReport's own core."""
    listed: list[admin_pb2.ExperimentLayer] = []
    after = ""
    while True:
        page = await layers.list_experiment_layers(PageRequest(after, _PAGE))
        listed.extend(page[:_PAGE])
        if len(page) <= _PAGE:
            break
        after = page[_PAGE - 1].layer_id
    request = admin_pb2.RunReportRequest(
        dimensions=[admin_pb2.REPORT_DIMENSION_EXPERIMENT_ARM], start_time=us_to_ts(start_us), end_time=us_to_ts(end_us)
    )
    report = await run_report(reports, layers, request)
    trip_sums = await reports.report_trip_sums(plan_report(request).query.where)
    return experiments_json(listed, report, trip_sums, start_us=start_us, end_us=end_us)
