"""Unit tests of the serving engine's rules: tiers, auction, caps, exclusion, schedule, no-fill reasons."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cartads.v1.common_pb2 import PricingModel, PriorityTier, Trigger
from edge_node.index.view import Creative, LineItem, Product, ServingView
from edge_node.serving.eligibility import SessionCounts
from edge_node.serving.selection import AdRequest, NoFillReason, SlotRequest, select_ads

NOW_MS = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC, a Tuesday
SPONSORSHIP = PriorityTier.PRIORITY_TIER_SPONSORSHIP
HOUSE = PriorityTier.PRIORITY_TIER_HOUSE


def li(line_item_id: str, bid: int = 1000, **fields: Any) -> LineItem:
    fields.setdefault("creative_ids", (f"cr-{line_item_id}",))
    fields.setdefault("budget_allowance_micros", 10**12)
    fields.setdefault("campaign_id", f"camp-{line_item_id}")
    return LineItem(line_item_id=line_item_id, bid_micros=bid, **fields)


def view(line_items: list[LineItem], postings: dict[str, tuple[str, ...]] | None = None, **fields: Any) -> ServingView:
    creatives = fields.pop("creatives", None) or [Creative(c) for x in line_items for c in x.creative_ids]
    return ServingView(
        version="v1",
        store_id="s",
        line_items={x.line_item_id: x for x in line_items},
        creatives={c.creative_id: c for c in creatives},
        postings=postings if postings is not None else {"all": tuple(x.line_item_id for x in line_items)},
        **fields,
    )


def select(v: ServingView, request: AdRequest | None = None, **kwargs: Any) -> Any:
    kwargs.setdefault("now_unix_ms", NOW_MS)
    return select_ads(v, request or AdRequest(), **kwargs)


def served(decision: Any) -> list[str]:
    return [ad.line_item.line_item_id for ad in decision.ads]


def test_sponsorship_fills_first_slot_before_higher_auction_bid() -> None:
    """A sponsorship takes the first slot even against a higher auction bid, and pays its bid."""
    v = view([li("auction", 9000), li("sponsor", 2000, priority_tier=SPONSORSHIP)])
    decision = select(v, AdRequest(max_ads=2))
    assert served(decision) == ["sponsor", "auction"]
    assert decision.ads[0].price_micros == 2000


def test_house_ad_fills_only_what_paid_ads_leave() -> None:
    """House ads come after every paid ad, and are free."""
    v = view([li("house", 50_000, priority_tier=HOUSE), li("paid", 10)])
    decision = select(v, AdRequest(max_ads=2))
    assert served(decision) == ["paid", "house"]
    assert decision.ads[1].price_micros == 0


def test_lone_bidder_pays_reserve() -> None:
    """With no runner-up the winner pays the reserve."""
    v = view([li("a", 5000)], reserve_cpm_micros=1200)
    assert select(v).ads[0].price_micros == 1200


def test_second_price_is_runner_up_but_at_least_reserve() -> None:
    """The winner pays the runner-up's value when it is above the reserve."""
    v = view([li("a", 5000), li("b", 3000)], reserve_cpm_micros=1200)
    assert select(v).ads[0].price_micros == 3000


def test_bid_below_reserve_is_not_served() -> None:
    """A bid below the reserve never serves; the reason says so."""
    v = view([li("a", 999)], reserve_cpm_micros=1000)
    assert select(v).no_fill_reason == NoFillReason.BELOW_RESERVE


def test_cpc_price_is_in_cost_per_click() -> None:
    """A CPC winner pays per click: the runner-up's CPM value divided by its expected clicks per mille."""
    cpc = li("cpc", 500_000, pricing_model=PricingModel.PRICING_MODEL_CPC, predicted_ctr=0.01)
    v = view([cpc, li("cpm", 3_000_000)])
    decision = select(v)
    assert served(decision) == ["cpc"]
    assert decision.ads[0].price_micros == 300_000


def test_pacing_factor_lowers_rank() -> None:
    """A line item slowed by pacing loses to a lower bid at full pace."""
    v = view([li("fast", 5000, pacing_factor=0.5), li("steady", 3000)])
    assert served(select(v)) == ["steady"]


def test_exclusion_label_keeps_competitors_apart() -> None:
    """Two line items with the same exclusion label never share a response."""
    v = view([li("cola", 9000, exclusion_label="soda"), li("pop", 8000, exclusion_label="soda"), li("chips", 1)])
    assert served(select(v, AdRequest(max_ads=3))) == ["cola", "chips"]


def test_campaign_cap_counts_session_and_response() -> None:
    """A campaign capped at 2 serves at most one more ad to a session that saw one of its ads."""
    items = [li(x, 100 - i, campaign_id="camp", campaign_frequency_cap_per_session=2) for i, x in enumerate("abc")]
    session = SessionCounts(campaigns={"camp": 1})
    assert served(select(view(items), AdRequest(max_ads=3), session=session)) == ["a"]


def test_campaign_cap_reached_is_frequency_capped() -> None:
    """A session that reached the campaign cap gets FREQUENCY_CAPPED."""
    v = view([li("a", campaign_id="camp", campaign_frequency_cap_per_session=1)])
    session = SessionCounts(campaigns={"camp": 1})
    assert select(v, session=session).no_fill_reason == NoFillReason.FREQUENCY_CAPPED


def test_creative_cap_moves_to_next_creative() -> None:
    """A creative at its cap yields to the line item's next creative."""
    v = view([li("a", creative_ids=("cr-1", "cr-2"), creative_frequency_cap_per_session=1)])
    decision = select(v, session=SessionCounts(creatives={"cr-1": 1}))
    assert decision.ads[0].creative.creative_id == "cr-2"


def test_trip_cap() -> None:
    """A session that saw max_ads_per_trip ads gets TRIP_CAP, and fewer slots when close to it."""
    v = view([li("a", 3), li("b", 2)], max_ads_per_trip=3)
    assert select(v, session=SessionCounts(ads_served=3)).no_fill_reason == NoFillReason.TRIP_CAP
    assert served(select(v, AdRequest(max_ads=2), session=SessionCounts(ads_served=2))) == ["a"]


def test_min_interval_between_ads() -> None:
    """An ad decided less than min_ad_interval_ms ago blocks the next one."""
    v = view([li("a")], min_ad_interval_ms=10_000)
    recent = SessionCounts(ads_served=1, last_ad_unix_ms=NOW_MS - 9_999)
    assert select(v, session=recent).no_fill_reason == NoFillReason.AD_INTERVAL
    assert served(select(v, session=SessionCounts(ads_served=1, last_ad_unix_ms=NOW_MS - 10_000))) == ["a"]


def test_daypart_uses_store_time_zone() -> None:
    """Daypart hours are the store's local hours, not UTC."""
    local_hour = datetime.fromtimestamp(NOW_MS / 1000, ZoneInfo("America/Chicago")).hour
    assert local_hour != datetime.fromtimestamp(NOW_MS / 1000, UTC).hour
    on = view([li("a", daypart_hours=frozenset({local_hour}))], time_zone="America/Chicago")
    off = view([li("a", daypart_hours=frozenset({(local_hour + 1) % 24}))], time_zone="America/Chicago")
    assert served(select(on)) == ["a"]
    assert select(off).no_fill_reason == NoFillReason.OUT_OF_SCHEDULE


def test_daypart_weekdays() -> None:
    """A line item limited to weekends does not serve on a Tuesday."""
    v = view([li("a", daypart_weekdays=frozenset({6, 7}))], time_zone="UTC")
    assert select(v).no_fill_reason == NoFillReason.OUT_OF_SCHEDULE


def test_paused_line_item_or_campaign_does_not_serve() -> None:
    """Paused line items and campaigns never serve; the reason is PAUSED."""
    assert select(view([li("a", paused=True)])).no_fill_reason == NoFillReason.PAUSED
    assert select(view([li("a", campaign_paused=True)])).no_fill_reason == NoFillReason.PAUSED


def test_furthest_stage_is_the_reason() -> None:
    """With one candidate paused and one capped, the reason is the closer miss: FREQUENCY_CAPPED."""
    v = view([li("p", paused=True), li("c", frequency_cap_per_session=1)])
    assert select(v, frequency={"c": 1}).no_fill_reason == NoFillReason.FREQUENCY_CAPPED


def test_trigger_posting_finds_line_item() -> None:
    """A line item posted under a trigger is a candidate on that trigger only."""
    v = view([li("t", triggers=frozenset({Trigger.TRIGGER_CHECKOUT}))], {"trigger:5": ("t",)})
    assert served(select(v, AdRequest(trigger=Trigger.TRIGGER_CHECKOUT))) == ["t"]
    assert select(v, AdRequest(trigger=Trigger.TRIGGER_SCAN)).no_fill_reason == NoFillReason.NO_CANDIDATES


def test_unknown_scanned_product_uses_its_own_postings() -> None:
    """A scanned product missing from the catalog still finds line items that target it by id."""
    v = view([li("p")], {"product:ghost": ("p",)})
    assert served(select(v, AdRequest(scanned_product_id="ghost"))) == ["p"]


def test_basket_departments_are_candidates_once() -> None:
    """Many basket products of one department reach that department's line items once."""
    products = [Product(f"p{i}", department_id="4") for i in range(300)]
    v = view([li("d")], {"department:4": ("d",)}, products={p.product_id: p for p in products})
    request = AdRequest(basket_product_ids=tuple(p.product_id for p in products), max_ads=3)
    assert served(select(v, request)) == ["d"]


def test_budget_share_of_a_worker() -> None:
    """A worker with half the budget share stops at half the allowance."""
    v = view([li("a", budget_allowance_micros=100)])
    assert select(v, spend_micros={"a": 50}, budget_share=0.5).no_fill_reason == NoFillReason.BUDGET_EXHAUSTED
    assert served(select(v, spend_micros={"a": 49}, budget_share=0.5)) == ["a"]


def test_house_ads_ignore_budget() -> None:
    """House ads serve without a budget allowance."""
    v = view([li("h", priority_tier=HOUSE, budget_allowance_micros=0)])
    assert served(select(v)) == ["h"]


def test_same_seed_same_ad_ids() -> None:
    """Ad ids come from the injected random source: equal seeds, equal decisions."""
    v = view([li("a", 3), li("b", 2)])
    first = select(v, AdRequest(max_ads=2), rng=random.Random(7))
    second = select(v, AdRequest(max_ads=2), rng=random.Random(7))
    assert first == second
    assert len({ad.ad_id for ad in first.ads}) == 2


def test_slot_format_runner_up_must_fit_slot() -> None:
    """The runner-up that sets the price must itself fit the slot."""
    creatives = [Creative("cr-a", format=3), Creative("cr-b", format=2), Creative("cr-c", format=3)]
    v = view([li("a", 9000), li("b", 8000), li("c", 2000)], creatives=creatives)
    decision = select(v, AdRequest(slots=(SlotRequest("s", 3),)))
    assert (served(decision), decision.ads[0].price_micros) == (["a"], 2000)
