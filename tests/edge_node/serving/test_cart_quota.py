"""Per-cart token buckets: a cart over its rate waits; other carts never notice."""

from __future__ import annotations

from cartads.cart_limits import PerCartLimits
from edge_node.serving.cart_quota import CartQuotas

LIMITS = PerCartLimits(calls_per_s=10.0, call_burst=3, events_per_s=100.0, event_burst=50)


def test_burst_then_refused_with_the_wait() -> None:
    """A cart gets its burst at once, then a refusal saying how long until the next call (1/rate)."""
    quotas = CartQuotas()
    assert [quotas.take_call("flood", LIMITS, 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert abs(quotas.take_call("flood", LIMITS, 0.0) - 0.1) < 1e-9


def test_tokens_refill_with_time() -> None:
    """After waiting the announced delay the cart may call again."""
    quotas = CartQuotas()
    for _ in range(3):
        quotas.take_call("c", LIMITS, 0.0)
    wait_s = quotas.take_call("c", LIMITS, 0.0)
    assert quotas.take_call("c", LIMITS, wait_s) == 0.0


def test_one_carts_flood_leaves_other_carts_alone() -> None:
    """A cart that exhausted its bucket does not take from another cart's."""
    quotas = CartQuotas()
    for _ in range(100):
        quotas.take_call("flood", LIMITS, 0.0)
    assert quotas.take_call("honest", LIMITS, 0.0) == 0.0


def test_events_over_the_burst_pass_when_the_bucket_is_full() -> None:
    """A report larger than the burst passes from a full bucket (leaving it in debt), so none is refused forever."""
    quotas = CartQuotas()
    assert quotas.take_events("c", 80, LIMITS, 0.0) == 0.0
    assert quotas.take_events("c", 1, LIMITS, 0.0) > 0.3  # 30 events of debt at 100/s, plus one


def test_state_is_bounded_least_recent_first() -> None:
    """More carts than the bound keep the state at the bound."""
    quotas = CartQuotas(max_carts=5)
    for n in range(20):
        quotas.take_call(f"cart-{n}", LIMITS, 0.0)
    assert len(quotas) == 5
