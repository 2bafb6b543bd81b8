"""When the cart asks for ads: dwell, idle, minimum interval and the per-trip cap."""

from __future__ import annotations

import pytest

from cart_client.trip.policy import RequestPolicy, RequestPolicyConfig, Trigger

CONFIG = RequestPolicyConfig(min_interval_ms=2_000, max_requests_per_trip=5, zone_dwell_ms=3_000, idle_ms=60_000)


def test_requests_closer_than_the_interval_are_dropped() -> None:
    """A second scan request within the minimum interval is suppressed and counted."""
    policy = RequestPolicy(CONFIG)
    assert policy.allow(Trigger.SESSION_START, 0)
    assert not policy.allow(Trigger.SCAN, 1_999)
    assert policy.allow(Trigger.SCAN, 2_000)
    assert (policy.requests, policy.suppressed) == (2, 1)


def test_checkout_ignores_the_interval() -> None:
    """Checkout asks even right after another request."""
    policy = RequestPolicy(CONFIG)
    policy.allow(Trigger.SCAN, 0)
    assert policy.allow(Trigger.CHECKOUT, 10)


def test_cap_per_trip_holds_for_every_trigger() -> None:
    """After max_requests_per_trip requests nothing more is asked, checkout included."""
    policy = RequestPolicy(CONFIG)
    assert all(policy.allow(Trigger.SCAN, n * 2_000) for n in range(5))
    assert not policy.allow(Trigger.CHECKOUT, 100_000)


@pytest.mark.parametrize(
    ("zones", "at_ms", "expected"),
    [
        ([("z1", 0)], 2_999, []),
        ([("z1", 0)], 3_000, [Trigger.ZONE_ENTER]),
        ([("z1", 0), ("z2", 1_000)], 3_500, []),  # rolled on before dwelling in z1
        ([("z1", 0), ("z2", 1_000)], 4_000, [Trigger.ZONE_ENTER]),
        ([("z1", 0), ("z1", 2_000)], 3_000, [Trigger.ZONE_ENTER]),  # a repeated reading keeps the dwell
    ],
)
def test_zone_enter_waits_for_the_dwell(zones: list[tuple[str, int]], at_ms: int, expected: list[Trigger]) -> None:
    """A zone is asked about only once the cart stayed in it for zone_dwell_ms."""
    policy = RequestPolicy(CONFIG)
    for zone_id, t_ms in zones:
        policy.zone_entered(zone_id, t_ms)
    assert policy.due(at_ms) == expected


def test_dwell_inside_the_interval_waits_for_it() -> None:
    """A dwell that completes right after another request fires when the interval has passed."""
    policy = RequestPolicy(CONFIG)
    policy.zone_entered("z1", 0)
    policy.allow(Trigger.SCAN, 2_500)
    assert policy.due(3_000) == []
    assert policy.next_deadline_ms() == 4_500
    assert policy.due(4_500) == [Trigger.ZONE_ENTER]


def test_returning_to_the_zone_just_asked_about_asks_nothing() -> None:
    """Bouncing back into the zone last asked about is not a new zone."""
    policy = RequestPolicy(CONFIG)
    policy.zone_entered("z1", 0)
    policy.due(3_000)
    policy.zone_entered("z2", 5_000)
    policy.zone_entered("z1", 6_000)
    assert policy.due(20_000) == []


def test_idle_fires_once_per_quiet_spell() -> None:
    """Idle fires after idle_ms without activity, once, and again only after new activity."""
    policy = RequestPolicy(CONFIG)
    policy.activity(0)
    assert policy.next_deadline_ms() == 60_000
    assert policy.due(60_000) == [Trigger.IDLE]
    assert policy.due(200_000) == []
    policy.activity(200_000)
    assert policy.due(260_000) == [Trigger.IDLE]


def test_bad_config_is_refused() -> None:
    """A cap below one is a configuration error."""
    with pytest.raises(ValueError, match="trip cap"):
        RequestPolicyConfig(max_requests_per_trip=0)
