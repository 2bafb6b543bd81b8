"""The console's experiments section (pure): arms in layer order, delivery per arm, lift over the holdout."""

from __future__ import annotations

from typing import Any

import pytest

from cartads.v1 import admin_pb2
from cloud_core.console.experiments import experiments_json
from cloud_core.reports.metrics import TripSums, proportion_lift

LAYER = admin_pb2.ExperimentLayer(
    layer_id="reserve",
    display_name="Reserve price",
    state=admin_pb2.SERVING_STATE_ACTIVE,
    arms=[
        admin_pb2.ExperimentArm(arm_id="control", display_name="Control", traffic_bps=4_500),
        admin_pb2.ExperimentArm(arm_id="high", display_name="High reserve", traffic_bps=4_500),
        admin_pb2.ExperimentArm(arm_id="holdout", display_name="No ads", traffic_bps=1_000, holdout=True),
    ],
)
NO_HOLDOUT = admin_pb2.ExperimentLayer(
    layer_id="weights",
    arms=[
        admin_pb2.ExperimentArm(arm_id="a", traffic_bps=5_000),
        admin_pb2.ExperimentArm(arm_id="b", traffic_bps=5_000),
    ],
)
TRIPS = [
    ("reserve", "control", TripSums(400, 80, 80 * 3_000_000, 80 * 300 * 300)),
    ("reserve", "high", TripSums(400, 60, 60 * 3_000_000, 60 * 300 * 300)),
    ("reserve", "holdout", TripSums(100, 10, 10 * 3_000_000, 10 * 300 * 300)),
]


def _report() -> admin_pb2.RunReportResponse:
    report = admin_pb2.RunReportResponse()
    for arm_id, impressions, spend in (("control", 900, 45_000_000), ("high", 700, 49_000_000)):
        report.rows.add(
            layer_id="reserve",
            arm_id=arm_id,
            metrics=admin_pb2.ReportMetrics(impressions=impressions, clicks=9, spend_micros=spend, ctr=9 / impressions),
        )
    lift = report.lifts.add(layer_id="reserve")
    lift.conversion_rate_lift.CopyFrom(
        admin_pb2.LiftEstimate(difference=0.075, ci_low=0.01, ci_high=0.14, relative=0.75, significant=True)
    )
    return report


def _view(layers: list[admin_pb2.ExperimentLayer] | None = None) -> dict[str, Any]:
    return experiments_json([LAYER, NO_HOLDOUT] if layers is None else layers, _report(), TRIPS, start_us=0, end_us=1)


def _layer(view: dict[str, Any], layer_id: str) -> Any:
    return next(layer for layer in view["layers"] if layer["layer_id"] == layer_id)


def test_arms_keep_the_layers_order_with_their_delivery() -> None:
    """Arms come in the layer's order with share, impressions, spend and trips from the report."""
    arms = _layer(_view(), "reserve")["arms"]
    assert [a["arm_id"] for a in arms] == ["control", "high", "holdout"]
    control = arms[0]
    assert (control["traffic_share"], control["impressions"], control["spend_micros"]) == (0.45, 900, 45_000_000)
    assert (control["trips"], control["trip_conversion_rate"]) == (400, 0.2)


def test_arm_without_delivery_reads_zeros() -> None:
    """The holdout arm, which serves no ads, shows zero impressions and spend but its trips."""
    holdout = _layer(_view(), "reserve")["arms"][2]
    assert (holdout["impressions"], holdout["spend_micros"], holdout["trips"]) == (0, 0, 100)


def test_each_exposed_arm_has_its_own_lift_over_the_holdout() -> None:
    """An exposed arm's lift is its trips against the holdout's, with the same maths as RunReport."""
    high = _layer(_view(), "reserve")["arms"][1]
    expected = proportion_lift(TRIPS[1][2], TRIPS[2][2])
    assert expected is not None
    lift = high["lift"]["conversion_rate"]
    assert lift["difference"] == pytest.approx(0.15 - 0.10)
    assert (lift["ci_low"], lift["ci_high"]) == (expected.ci_low, expected.ci_high)
    assert high["lift"]["sales_per_trip_micros"]["difference"] == pytest.approx(0.15 * 3_000_000 - 0.10 * 3_000_000)


def test_holdout_arm_has_no_lift() -> None:
    """The holdout arm is the baseline, so it carries no lift of its own."""
    holdout = _layer(_view(), "reserve")["arms"][2]
    assert holdout["lift"] is None


def test_layer_carries_the_pooled_lift_from_the_report() -> None:
    """The layer's pooled lift (every exposed arm against the holdout) is RunReport's."""
    lift = _layer(_view(), "reserve")["lift"]
    assert lift == {
        "conversion_rate": {
            "difference": 0.075,
            "ci_low": 0.01,
            "ci_high": 0.14,
            "relative": 0.75,
            "significant": True,
        },
        "sales_per_trip_micros": None,
    }


def test_layer_without_a_holdout_has_no_lift() -> None:
    """A layer with no holdout arm is listed, flagged, with no lift on any arm."""
    layer = _layer(_view(), "weights")
    assert layer["has_holdout"] is False
    assert all(a["lift"] is None for a in layer["arms"])


def test_a_deleted_layer_with_data_is_still_shown() -> None:
    """Delivery of a layer that no longer exists is shown under its id, marked deleted."""
    layer = _layer(_view(layers=[]), "reserve")
    assert layer["deleted"] is True
    assert [a["arm_id"] for a in layer["arms"]] == ["control", "high", "holdout"]
