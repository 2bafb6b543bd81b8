"""Frequency state per cart session, local spend per line item, and retry backoff."""

from __future__ import annotations

import random

from cartads.v1.common_pb2 import EventType, PricingModel
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from edge_node.cloud_link.backoff import Backoff
from edge_node.serving.local_state import LocalSpend, SessionFrequency

IMPRESSION = EventType.EVENT_TYPE_IMPRESSION
CLICK = EventType.EVENT_TYPE_CLICK


def payload(
    ad_id: str = "ad1", model: int = PricingModel.PRICING_MODEL_CPM, price: int = 2_000_000
) -> TrackingTokenPayload:
    return TrackingTokenPayload(
        ad_id=ad_id,
        line_item_id="li",
        pricing_model=model,  # type: ignore[arg-type]
        price_micros=price,
        index_version="v1",
    )


def test_frequency_counts_per_session() -> None:
    """Served line items are counted per (cart, session)."""
    frequency = SessionFrequency(max_sessions=10)
    frequency.record("c", "s", ["a", "b"])
    frequency.record("c", "s", ["a"])
    assert dict(frequency.get("c", "s")) == {"a": 2, "b": 1}
    assert dict(frequency.get("c", "other")) == {}


def test_frequency_forgets_least_recent_sessions() -> None:
    """Beyond max_sessions the least recently served session is evicted."""
    frequency = SessionFrequency(max_sessions=2)
    frequency.record("c", "old", ["a"])
    frequency.record("c", "mid", ["a"])
    frequency.record("c", "old", ["a"])  # touched again: now the most recent
    frequency.record("c", "new", ["a"])
    assert len(frequency) == 2
    assert dict(frequency.get("c", "mid")) == {}
    assert dict(frequency.get("c", "old")) == {"a": 2}


def test_cpm_impressions_add_price_per_mille() -> None:
    """A CPM impression costs price / 1000; fractions add up exactly."""
    spend = LocalSpend(max_billed_ads=100)
    spend.reset("v1")
    spend.add(payload("a1", price=1500), IMPRESSION)
    spend.add(payload("a2", price=1500), IMPRESSION)
    assert spend.spend_micros()["li"] == 3


def test_cpc_click_adds_price_and_impression_adds_nothing() -> None:
    """A CPC line item spends on clicks only."""
    spend = LocalSpend(max_billed_ads=100)
    spend.reset("v1")
    spend.add(payload(model=PricingModel.PRICING_MODEL_CPC, price=300_000), IMPRESSION)
    spend.add(payload(model=PricingModel.PRICING_MODEL_CPC, price=300_000), CLICK)
    assert spend.spend_micros()["li"] == 300_000


def test_token_spends_once_per_kind() -> None:
    """A token reported twice for the same event kind spends once."""
    spend = LocalSpend(max_billed_ads=100)
    spend.reset("v1")
    spend.add(payload(), IMPRESSION)
    assert spend.add(payload(), IMPRESSION) == 0
    assert spend.spend_micros()["li"] == 2000


def test_spend_restarts_with_new_index_version() -> None:
    """A new index brings a new allowance: spend restarts and old tokens no longer count."""
    spend = LocalSpend(max_billed_ads=100)
    spend.reset("v1")
    spend.add(payload(), IMPRESSION)
    spend.reset("v2")
    assert dict(spend.spend_micros()) == {}
    assert spend.add(payload("other"), IMPRESSION) == 0


def test_backoff_doubles_with_jitter_up_to_max() -> None:
    """Delays double from the initial value, are jittered into [base/2, base], and cap at the max."""
    backoff = Backoff(0.1, 0.4, random.Random(7))
    delays = [backoff.next_delay_s() for _ in range(5)]
    for delay, base in zip(delays, [0.1, 0.2, 0.4, 0.4, 0.4], strict=True):
        assert base / 2 <= delay <= base
    backoff.reset()
    assert backoff.next_delay_s() <= 0.1
