"""Experiment layers: input checks and their compiled form in the store index. Pure.

As in Tang et al. ("Overlapping Experiment Infrastructure", KDD 2010), every serving parameter an
arm can override belongs to at most one running layer: layers then split trips independently and
their arms combine without conflict, so each layer's results can be read on their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cartads import bounds
from cartads.bounds import clip
from cartads.v1 import admin_pb2, index_pb2
from cloud_core.admin.validation import MAX_NAME_CHARS, Violation, check_id

TOTAL_BPS = 10_000
MAX_ARMS = 20
MAX_ACTIVE_LAYERS = 8
MAX_SALT_CHARS = 64
MAX_CLICK_RATE_WEIGHT = bounds.MAX_CLICK_RATE_WEIGHT
MAX_ADS_PER_TRIP = bounds.MAX_ADS_PER_TRIP
OVERRIDES = ("reserve_cpm_micros", "click_rate_weight", "max_ads_per_trip")


def overridden(layer: admin_pb2.ExperimentLayer) -> frozenset[str]:
    """The parameters some arm of ``layer`` overrides."""
    return frozenset(name for arm in layer.arms for name in OVERRIDES if arm.overrides.HasField(name))


def _check_overrides(arm: admin_pb2.ExperimentArm, prefix: str) -> list[Violation]:
    out: list[Violation] = []
    o = arm.overrides
    if arm.holdout and any(o.HasField(name) for name in OVERRIDES):
        out.append((f"{prefix}.overrides", "a holdout arm shows no ads, so it cannot override how they are chosen"))
    if o.HasField("reserve_cpm_micros"):
        out += bounds.check_range(
            o.reserve_cpm_micros, 0, bounds.MAX_BID_MICROS, f"{prefix}.overrides.reserve_cpm_micros"
        )
    if o.HasField("click_rate_weight") and not 0 < o.click_rate_weight <= MAX_CLICK_RATE_WEIGHT:
        out.append((f"{prefix}.overrides.click_rate_weight", f"must be > 0 and <= {MAX_CLICK_RATE_WEIGHT:g}"))
    if o.HasField("max_ads_per_trip") and not 0 <= o.max_ads_per_trip <= MAX_ADS_PER_TRIP:
        out.append((f"{prefix}.overrides.max_ads_per_trip", f"must be between 0 and {MAX_ADS_PER_TRIP}"))
    return out


def _check_arms(arms: Sequence[admin_pb2.ExperimentArm], prefix: str) -> list[Violation]:
    if not arms:
        return [(f"{prefix}.arms", "needs at least one arm")]
    if len(arms) > MAX_ARMS:
        return [(f"{prefix}.arms", f"must have at most {MAX_ARMS} arms")]
    out: list[Violation] = []
    seen: set[str] = set()
    total = 0
    for i, arm in enumerate(arms):
        field = f"{prefix}.arms[{i}]"
        out += check_id(arm.arm_id, f"{field}.arm_id")
        if arm.arm_id in seen:
            out.append((f"{field}.arm_id", f"{clip(arm.arm_id)!r} is used by another arm of this layer"))
        seen.add(arm.arm_id)
        if len(arm.display_name) > MAX_NAME_CHARS:
            out.append((f"{field}.display_name", f"must be at most {MAX_NAME_CHARS} characters"))
        if not 0 < arm.traffic_bps <= TOTAL_BPS:
            out.append((f"{field}.traffic_bps", f"must be between 1 and {TOTAL_BPS}"))
        total += max(0, arm.traffic_bps)
        out += _check_overrides(arm, field)
    if total > TOTAL_BPS:
        out.append((f"{prefix}.arms", f"traffic_bps sum to {total}, more than {TOTAL_BPS} (100%)"))
    return out


def validate_layer(
    layer: admin_pb2.ExperimentLayer,
    other_active_layers: Iterable[admin_pb2.ExperimentLayer],
    prefix: str = "experiment_layer",
) -> list[Violation]:
    """Name, salt, state and arms of ``layer``; when it is active, the parameters its arms override
    must not be overridden by another active layer, and active layers are capped."""
    out: list[Violation] = []
    if not layer.display_name.strip():
        out.append((f"{prefix}.display_name", "is required"))
    elif len(layer.display_name) > MAX_NAME_CHARS:
        out.append((f"{prefix}.display_name", f"must be at most {MAX_NAME_CHARS} characters"))
    if not layer.salt or len(layer.salt) > MAX_SALT_CHARS:
        out.append((f"{prefix}.salt", f"must be 1-{MAX_SALT_CHARS} characters"))
    if layer.state not in (admin_pb2.SERVING_STATE_ACTIVE, admin_pb2.SERVING_STATE_PAUSED):
        out.append((f"{prefix}.state", "must be ACTIVE or PAUSED"))
    out += _check_arms(layer.arms, prefix)
    if layer.state != admin_pb2.SERVING_STATE_ACTIVE:
        return out
    others = [o for o in other_active_layers if o.layer_id != layer.layer_id]
    if len(others) >= MAX_ACTIVE_LAYERS:
        out.append((f"{prefix}.state", f"at most {MAX_ACTIVE_LAYERS} layers may be active at once"))
    mine = overridden(layer)
    for other in others:
        for name in sorted(mine & overridden(other)):
            out.append((f"{prefix}.arms", f"{name} is already overridden by active layer {other.layer_id!r}"))
    return out


def index_layers(layers: Iterable[admin_pb2.ExperimentLayer]) -> list[index_pb2.IndexExperimentLayer]:
    """The active layers as the store index carries them, in id order (a stable index version)."""
    out = []
    for layer in sorted(layers, key=lambda x: x.layer_id):
        if layer.state != admin_pb2.SERVING_STATE_ACTIVE:
            continue
        compiled = index_pb2.IndexExperimentLayer(layer_id=layer.layer_id, salt=layer.salt)
        for arm in layer.arms:
            entry = compiled.arms.add(arm_id=arm.arm_id, traffic_bps=arm.traffic_bps, holdout=arm.holdout)
            for name in OVERRIDES:
                if arm.overrides.HasField(name):
                    setattr(entry, name, getattr(arm.overrides, name))
        out.append(compiled)
    return out
