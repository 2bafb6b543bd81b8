"""Edge budget leases: what a charge costs, and when a line item stops."""

from __future__ import annotations

from cartads.v1.common_pb2 import EventType, PricingModel, PriorityTier
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from edge_node.events.leases import (
    BLOCKED_SPEND_MICROS,
    LeaseCharge,
    LeaseSpend,
    ServingSpend,
    charge_for,
    charge_millimicros,
    serving_spend_micros,
)
from edge_node.index.view import LineItem, ServingView

CPM = PricingModel.PRICING_MODEL_CPM
LI = LineItem("li-1", campaign_id="camp-1", budget_allowance_micros=10_000, budget_lease_id="L1")


def view(*items: LineItem) -> ServingView:
    return ServingView(version="v1", store_id="s", line_items={li.line_item_id: li for li in items})


def test_charges_follow_the_pricing_model() -> None:
    """CPM charges impressions, CPC clicks, CPA conversions; other pairings are free."""
    assert charge_millimicros(CPM, EventType.EVENT_TYPE_IMPRESSION, 2_000_000) == 2_000_000
    assert charge_millimicros(PricingModel.PRICING_MODEL_CPC, EventType.EVENT_TYPE_CLICK, 300) == 300_000
    assert charge_millimicros(PricingModel.PRICING_MODEL_CPA, EventType.EVENT_TYPE_CONVERSION, 500) == 500_000
    assert charge_millimicros(CPM, EventType.EVENT_TYPE_CLICK, 2_000_000) == 0


def test_cpm_impressions_add_up_exactly_per_mille() -> None:
    """A CPM impression costs price / 1000 of a micro; such fractions add up without rounding."""
    spend = LeaseSpend()
    impression = charge_millimicros(CPM, EventType.EVENT_TYPE_IMPRESSION, 1500)
    spend.add([LeaseCharge("camp-1", "L1", impression), LeaseCharge("camp-1", "L1", impression)])
    assert spend.spend_micros("camp-1", "L1") == 3


def test_cpc_spends_on_the_click_and_not_the_impression() -> None:
    """A CPC line item's impression adds nothing to its lease; its click adds the price."""
    spend = LeaseSpend()
    cpc = PricingModel.PRICING_MODEL_CPC
    for event_type in (EventType.EVENT_TYPE_IMPRESSION, EventType.EVENT_TYPE_CLICK):
        spend.add([LeaseCharge("camp-1", "L1", charge_millimicros(cpc, event_type, 300_000))])
    assert spend.spend_micros("camp-1", "L1") == 300_000


def test_charge_counts_against_the_campaigns_current_lease() -> None:
    """A charge names the campaign and the lease the index holds for its line item."""
    payload = TrackingTokenPayload(line_item_id="li-1", pricing_model=CPM, price_micros=4_000_000)
    charge = charge_for(view(LI), payload, EventType.EVENT_TYPE_IMPRESSION)
    assert charge == LeaseCharge("camp-1", "L1", 4_000_000, 0)


def test_line_item_serves_until_its_allowance_is_spent() -> None:
    """Spend below the allowance is reported as is; the selection stops the line item at the allowance."""
    spend = LeaseSpend()
    spend.add([LeaseCharge("camp-1", "L1", 4_000_000)])
    assert serving_spend_micros(LI, spend, "v1", 0, paid_allowed=True) == 4_000
    spend.add([LeaseCharge("camp-1", "L1", 6_000_000)])
    assert serving_spend_micros(LI, spend, "v1", 0, paid_allowed=True) >= LI.budget_allowance_micros


def test_new_lease_starts_a_fresh_count() -> None:
    """Spend under an old lease does not count against a new one."""
    spend = LeaseSpend({("camp-1", "L1"): 10_000_000})
    renewed = LineItem("li-1", campaign_id="camp-1", budget_allowance_micros=10_000, budget_lease_id="L2")
    assert serving_spend_micros(renewed, spend, "v1", 0, paid_allowed=True) == 0


def test_expired_lease_stops_the_line_item() -> None:
    """After its lease expires a paid line item reads as blocked until a new lease arrives."""
    item = LineItem("li-1", campaign_id="camp-1", budget_lease_id="L1", budget_lease_expire_unix_ms=1_000)
    assert serving_spend_micros(item, LeaseSpend(), "v1", 999, paid_allowed=True) == 0
    assert serving_spend_micros(item, LeaseSpend(), "v1", 1_000, paid_allowed=True) == BLOCKED_SPEND_MICROS


def test_pushback_blocks_paid_but_not_house_ads() -> None:
    """While paid ads are not allowed, paid line items are blocked and house ads are not."""
    house = LineItem("h", campaign_id="house", priority_tier=PriorityTier.PRIORITY_TIER_HOUSE)
    assert serving_spend_micros(LI, LeaseSpend(), "v1", 0, paid_allowed=False) == BLOCKED_SPEND_MICROS
    assert serving_spend_micros(house, LeaseSpend(), "v1", 0, paid_allowed=False) == 0


def test_serving_spend_reads_lazily_per_line_item() -> None:
    """The mapping selection reads answers per line item id and defaults for unknown ids."""
    spend = LeaseSpend({("camp-1", "L1"): 3_000_000})
    mapping = ServingSpend(view(LI), spend, 0, paid_allowed=True)
    assert mapping["li-1"] == 3_000
    assert mapping.get("nope", 0) == 0
    assert list(mapping) == ["li-1"]


def test_index_without_leases_counts_per_version() -> None:
    """An index without lease ids counts spend per index version (an older cloud)."""
    item = LineItem("li-1", campaign_id="camp-1", budget_allowance_micros=10)
    spend = LeaseSpend({("camp-1", "index:v1"): 5_000})
    assert serving_spend_micros(item, spend, "v1", 0, paid_allowed=True) == 5
    assert serving_spend_micros(item, spend, "v2", 0, paid_allowed=True) == 0


HOUSE = LineItem("house", campaign_id="camp-h", priority_tier=PriorityTier.PRIORITY_TIER_HOUSE)


def _leased(line_item_id: str, expire_unix_ms: int | None) -> LineItem:
    return LineItem(
        line_item_id, campaign_id="camp-1", budget_lease_id="L1", budget_lease_expire_unix_ms=expire_unix_ms
    )


def test_paid_ads_read_as_blocked_once_every_paid_lease_has_expired() -> None:
    """paid_blocked turns true when the last paid lease expires; house ads have no lease to wait for."""
    v = view(_leased("a", 1_000), _leased("b", 2_000), HOUSE)
    assert ServingSpend(v, LeaseSpend(), 1_999, paid_allowed=True).paid_blocked is False
    assert ServingSpend(v, LeaseSpend(), 2_000, paid_allowed=True).paid_blocked is True


def test_a_paid_lease_without_expiry_keeps_paid_ads_open() -> None:
    """One paid line item whose lease never expires means paid ads are not all blocked by time."""
    v = view(_leased("a", 1_000), _leased("b", None))
    assert ServingSpend(v, LeaseSpend(), 10**12, paid_allowed=True).paid_blocked is False


def test_journal_pushback_blocks_every_paid_ad() -> None:
    """While the journal pushes back (paid_allowed false), paid ads read as blocked whatever the leases."""
    assert ServingSpend(view(_leased("a", None)), LeaseSpend(), 0, paid_allowed=False).paid_blocked is True
