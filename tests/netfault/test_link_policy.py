"""What the faulty link does to one packet (the pure decision, with a seeded random source)."""

from __future__ import annotations

import random

import pytest

from cartads.bench.netfault.policy import BLACK_HOLE, CLEAN, LinkPolicy


def test_a_clean_direction_passes_every_packet_at_once() -> None:
    """No loss and no delay: every packet passes with zero transit."""
    rng = random.Random(1)
    assert {CLEAN.transit_s(t, rng) for t in range(100)} == {0.0}


def test_a_black_hole_drops_every_packet() -> None:
    """A black-holed direction loses every packet, whatever the time."""
    rng = random.Random(1)
    assert {BLACK_HOLE.transit_s(t / 10, rng) for t in range(100)} == {None}


def test_loss_drops_about_its_share() -> None:
    """10% loss drops between 8% and 12% of 10,000 packets."""
    rng = random.Random(1)
    lost = sum(LinkPolicy(loss=0.1).transit_s(0.0, rng) is None for _ in range(10_000))
    assert 800 <= lost <= 1200


def test_jitter_keeps_delays_within_its_bounds() -> None:
    """300 +- 100 ms: every delay within [0.2, 0.4] s, and they vary."""
    rng = random.Random(1)
    delays = [LinkPolicy(delay_ms=300, jitter_ms=100).transit_s(0.0, rng) for _ in range(1000)]
    assert all(d is not None and 0.2 <= d <= 0.4 for d in delays)
    assert len(set(delays)) > 900


def test_flapping_alternates_up_and_down_windows() -> None:
    """Up 2 s, down 1 s: passes at 0.5 s and 3.5 s, drops at 2.5 s and 5.5 s."""
    policy = LinkPolicy(flap_up_s=2.0, flap_down_s=1.0)
    assert [policy.is_down(t) for t in (0.5, 2.5, 3.5, 5.5)] == [False, True, False, True]


def test_a_loss_beyond_one_is_refused() -> None:
    """A loss probability above 1 is a ValueError naming the field."""
    with pytest.raises(ValueError, match="loss"):
        LinkPolicy(loss=1.5)
