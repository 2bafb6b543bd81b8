"""Experiment layer checks and their compiled form in the index (cloud_core/compile/experiment_rules.py)."""

from __future__ import annotations

from cartads.v1 import admin_pb2
from cloud_core.compile.experiment_rules import MAX_ACTIVE_LAYERS, index_layers, validate_layer

ACTIVE, PAUSED = admin_pb2.SERVING_STATE_ACTIVE, admin_pb2.SERVING_STATE_PAUSED


def _layer(layer_id: str = "L", state: int = ACTIVE, *arms: admin_pb2.ExperimentArm) -> admin_pb2.ExperimentLayer:
    layer = admin_pb2.ExperimentLayer(layer_id=layer_id, display_name="x", salt="s", state=state)  # type: ignore[arg-type]
    layer.arms.extend(arms or [admin_pb2.ExperimentArm(arm_id="a", traffic_bps=5000)])
    return layer


def _fields(layer: admin_pb2.ExperimentLayer, others: list[admin_pb2.ExperimentLayer] | None = None) -> set[str]:
    return {field for field, _ in validate_layer(layer, others or [])}


def test_valid_layer_passes() -> None:
    """A named, salted layer with one arm under 100% has no violations."""
    assert validate_layer(_layer(), []) == []


def test_duplicate_arm_ids_and_empty_shares_are_refused() -> None:
    """Arm ids are unique within a layer and every arm takes at least one basis point."""
    layer = _layer(
        "L",
        ACTIVE,
        admin_pb2.ExperimentArm(arm_id="a", traffic_bps=100),
        admin_pb2.ExperimentArm(arm_id="a", traffic_bps=0),
    )
    assert {"experiment_layer.arms[1].arm_id", "experiment_layer.arms[1].traffic_bps"} <= _fields(layer)


def test_paused_layer_may_share_parameters() -> None:
    """Only active layers own parameters: a paused one may override what an active one does."""
    arm = admin_pb2.ExperimentArm(arm_id="a", traffic_bps=10)
    arm.overrides.max_ads_per_trip = 1
    active = _layer("A", ACTIVE, arm)
    assert _fields(_layer("B", PAUSED, arm), [active]) == set()
    assert _fields(_layer("B", ACTIVE, arm), [active]) == {"experiment_layer.arms"}


def test_active_layers_are_capped() -> None:
    """A layer cannot become active beside MAX_ACTIVE_LAYERS others."""
    others = [_layer(f"o{i}") for i in range(MAX_ACTIVE_LAYERS)]
    assert "experiment_layer.state" in _fields(_layer("new"), others)


def test_index_carries_active_layers_with_set_overrides_only() -> None:
    """Paused layers stay out of the index; an arm's unset overrides stay unset in it."""
    arm = admin_pb2.ExperimentArm(arm_id="w", traffic_bps=2500)
    arm.overrides.click_rate_weight = 2.0
    held = admin_pb2.ExperimentArm(arm_id="h", traffic_bps=1000, holdout=True)
    (compiled,) = index_layers([_layer("B", PAUSED), _layer("A", ACTIVE, arm, held)])
    assert (compiled.layer_id, compiled.salt) == ("A", "s")
    assert compiled.arms[0].click_rate_weight == 2.0
    assert not compiled.arms[0].HasField("reserve_cpm_micros")
    assert compiled.arms[1].holdout
