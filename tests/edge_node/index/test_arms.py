"""Properties of the pure experiment arm assignment (edge_node/index/arms.py)."""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from cartads.v1.index_pb2 import IndexExperimentArm, IndexExperimentLayer
from edge_node.index.arms import BUCKETS, Arm, Layer, arm_bounds, arm_position, assign, bucket, layers_from_index

SESSIONS = [f"session-{i}" for i in range(20_000)]


def _layer(layer_id: str, salt: str, *shares: int) -> Layer:
    return Layer(layer_id, salt, tuple(Arm(f"arm{i}", bps) for i, bps in enumerate(shares)))


def _within_binomial(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    """``count`` of ``n`` trials is within ``sigmas`` standard deviations of p·n."""
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p)) + 1


@given(st.text(max_size=40), st.text(max_size=20))
def test_bucket_is_deterministic_and_in_range(session_id: str, salt: str) -> None:
    """The same session and salt always land in the same bucket in [0, 10000)."""
    b = bucket(session_id, salt)
    assert 0 <= b < BUCKETS
    assert bucket(session_id, salt) == b


def test_bucket_is_a_stable_standard_hash() -> None:
    """Buckets are blake2b-based, not Python's per-process hash: known values never change."""
    # Pinned, so that every edge (and any other implementation) agrees across releases.
    assert bucket("session-1", "salt") == 8330


@given(st.lists(st.integers(min_value=0, max_value=4000), min_size=1, max_size=6), st.integers(0, BUCKETS - 1))
def test_positions_follow_the_cumulative_shares(shares: list[int], b: int) -> None:
    """A bucket falls in the arm whose cumulative range holds it, or in none past the last arm."""
    arms = [Arm(f"a{i}", s) for i, s in enumerate(shares)]
    position = arm_position(b, arm_bounds(arms))
    start = 0
    expected = -1
    for i, share in enumerate(shares):
        end = min(BUCKETS, start + share)
        if start <= b < end:
            expected = i
            break
        start = end
    assert position == expected


def test_shares_are_respected_over_many_sessions() -> None:
    """20,000 sessions split 10% / 30% / 60% within five standard deviations of each share."""
    layer = _layer("L", "salt-a", 1000, 3000, 6000)
    counts = Counter(arm.arm_id for s in SESSIONS for _, arm in assign(s, [layer]))
    n = len(SESSIONS)
    assert _within_binomial(counts["arm0"], n, 0.1)
    assert _within_binomial(counts["arm1"], n, 0.3)
    assert _within_binomial(counts["arm2"], n, 0.6)


def test_uncovered_buckets_are_in_no_arm() -> None:
    """Arms summing to 20% leave about 80% of sessions outside the layer."""
    layer = _layer("L", "salt-b", 1000, 1000)
    outside = sum(1 for s in SESSIONS if not assign(s, [layer]))
    assert _within_binomial(outside, len(SESSIONS), 0.8)


def test_layers_split_independently() -> None:
    """Two 50/50 layers with different salts: each of the four arm pairs holds about a quarter."""
    one, two = _layer("one", "salt-1", 5000, 5000), _layer("two", "salt-2", 5000, 5000)
    pairs = Counter(tuple(arm.arm_id for _, arm in assign(s, [one, two])) for s in SESSIONS)
    assert len(pairs) == 4
    for count in pairs.values():
        assert _within_binomial(count, len(SESSIONS), 0.25)


def test_same_salt_would_correlate_layers() -> None:
    """The salt is what decorrelates layers: equal salts put every session in matching arms."""
    one, two = _layer("one", "same", 5000, 5000), _layer("two", "same", 5000, 5000)
    pairs = {tuple(arm.arm_id for _, arm in assign(s, [one, two])) for s in SESSIONS[:2000]}
    assert pairs == {("arm0", "arm0"), ("arm1", "arm1")}


def test_layers_from_index_keep_unset_overrides_as_none() -> None:
    """Only the overrides an arm sets are carried; the rest stay None (the store's settings)."""
    pb = IndexExperimentLayer(
        layer_id="L",
        salt="s",
        arms=[IndexExperimentArm(arm_id="a", traffic_bps=10, reserve_cpm_micros=0), IndexExperimentArm(arm_id="h")],
    )
    (layer,) = layers_from_index([pb])
    assert layer.arms[0].reserve_cpm_micros == 0
    assert layer.arms[0].click_rate_weight is None
    assert layer.arms[1].reserve_cpm_micros is None
