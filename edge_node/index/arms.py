"""Which arm of each experiment layer a trip is in (Tang et al., "Overlapping Experiment
Infrastructure", KDD 2010). Pure.

A trip's bucket in a layer is ``blake2b(salt NUL session_id) mod 10,000``; the layer's arms take
consecutive bucket ranges of their traffic share (basis points), in order, and buckets past the
last arm are in no arm. Different salts make the layers split trips independently, so one trip can
be in an arm of every layer at once without the layers' results confounding each other. The hash is
a standard one (not Python's randomized ``hash``), so any process, on any machine, in any language,
puts a session in the same arm.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cartads.v1.index_pb2 import IndexExperimentLayer

BUCKETS = 10_000


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm of a layer; ``None`` overrides keep the store's setting."""

    arm_id: str
    traffic_bps: int
    holdout: bool = False
    reserve_cpm_micros: int | None = None
    click_rate_weight: float | None = None
    max_ads_per_trip: int | None = None


@dataclass(frozen=True, slots=True)
class Layer:
    """An experiment layer as the index carries it."""

    layer_id: str
    salt: str
    arms: tuple[Arm, ...]


def bucket(session_id: str, salt: str) -> int:
    """The session's bucket in ``[0, BUCKETS)`` for a layer with ``salt``."""
    digest = hashlib.blake2b(f"{salt}\0{session_id}".encode(), digest_size=8).digest()
    # 2**64 mod 10,000 leaves a bias of about 1e-15 per bucket: far below any test's resolution.
    return int.from_bytes(digest, "big") % BUCKETS


def arm_bounds(arms: Sequence[Arm]) -> tuple[int, ...]:
    """Exclusive upper bucket of each arm: cumulative shares, capped at BUCKETS."""
    bounds: list[int] = []
    total = 0
    for arm in arms:
        total = min(BUCKETS, total + max(0, arm.traffic_bps))
        bounds.append(total)
    return tuple(bounds)


def arm_position(bucket_number: int, bounds: Sequence[int]) -> int:
    """Index of the arm whose range holds ``bucket_number``, -1 when it is past every arm."""
    position = bisect.bisect_right(bounds, bucket_number)
    return position if position < len(bounds) else -1


def assign(session_id: str, layers: Sequence[Layer]) -> tuple[tuple[str, Arm], ...]:
    """``(layer_id, arm)`` for every layer that puts the session in one of its arms."""
    out: list[tuple[str, Arm]] = []
    for layer in layers:
        position = arm_position(bucket(session_id, layer.salt), arm_bounds(layer.arms))
        if position >= 0:
            out.append((layer.layer_id, layer.arms[position]))
    return tuple(out)


def layers_from_index(layers: Sequence[IndexExperimentLayer]) -> tuple[Layer, ...]:
    """The index's layers as plain values."""
    return tuple(
        Layer(
            layer_id=layer.layer_id,
            salt=layer.salt,
            arms=tuple(
                Arm(
                    arm_id=a.arm_id,
                    traffic_bps=a.traffic_bps,
                    holdout=a.holdout,
                    reserve_cpm_micros=a.reserve_cpm_micros if a.HasField("reserve_cpm_micros") else None,
                    click_rate_weight=a.click_rate_weight if a.HasField("click_rate_weight") else None,
                    max_ads_per_trip=a.max_ads_per_trip if a.HasField("max_ads_per_trip") else None,
                )
                for a in layer.arms
            ),
        )
        for layer in layers
    )
