"""Unit tests of the pure selection core, with plain values."""

from __future__ import annotations

from typing import Any

from cartads.v1.common_pb2 import CreativeFormat, PricingModel, Trigger
from edge_node.index.view import Creative, LineItem, Product, ServingView
from edge_node.serving.selection import AdRequest, NoFillReason, SlotRequest, expected_cpm_micros, select_ads

NOW_MS = 1_700_000_000_000
BANNER = CreativeFormat.CREATIVE_FORMAT_BANNER
COUPON = CreativeFormat.CREATIVE_FORMAT_COUPON


def li(line_item_id: str, bid: int = 1000, **fields: Any) -> LineItem:
    fields.setdefault("creative_ids", (f"cr-{line_item_id}",))
    fields.setdefault("budget_allowance_micros", 10**12)
    return LineItem(line_item_id=line_item_id, bid_micros=bid, **fields)


def view(
    line_items: list[LineItem],
    postings: dict[str, tuple[str, ...]],
    creatives: list[Creative] | None = None,
    products: list[Product] | None = None,
) -> ServingView:
    if creatives is None:
        creatives = [Creative(f"cr-{x.line_item_id}", format=BANNER) for x in line_items]
    return ServingView(
        version="v1",
        store_id="s",
        line_items={x.line_item_id: x for x in line_items},
        creatives={c.creative_id: c for c in creatives},
        products={p.product_id: p for p in products or []},
        postings=postings,
    )


def select(v: ServingView | None, request: AdRequest, **kwargs: Any) -> Any:
    kwargs.setdefault("frequency", {})
    kwargs.setdefault("spend_micros", {})
    kwargs.setdefault("now_unix_ms", NOW_MS)
    return select_ads(v, request, **kwargs)


def served(decision: Any) -> list[str]:
    return [ad.line_item.line_item_id for ad in decision.ads]


def test_no_view_is_no_index() -> None:
    """Without an index the edge answers NO_INDEX."""
    assert select(None, AdRequest()).no_fill_reason == NoFillReason.NO_INDEX


def test_nothing_targeted_is_no_candidates() -> None:
    """A request matching no posting gets NO_CANDIDATES."""
    v = view([li("a")], {"product:9": ("a",)})
    assert select(v, AdRequest(scanned_product_id="1")).no_fill_reason == NoFillReason.NO_CANDIDATES


def test_candidates_from_brand_aisle_department_of_scanned_product() -> None:
    """The scanned product's brand, aisle and department postings all give candidates."""
    products = [Product("p1", aisle_id="24", department_id="4", brand="Acme")]
    v = view(
        [li("b", 3), li("a", 2), li("d", 1)],
        {"brand:Acme": ("b",), "aisle:24": ("a",), "department:4": ("d",)},
        products=products,
    )
    decision = select(v, AdRequest(scanned_product_id="p1", max_ads=3))
    assert served(decision) == ["b", "a", "d"]


def test_candidates_from_zone_basket_and_run_of_store() -> None:
    """The cart's zone, basket products, basket departments and "all" give candidates."""
    products = [Product("p2", department_id="7")]
    v = view(
        [li("z", 4), li("bp", 3), li("bd", 2), li("ros", 1)],
        {"zone:zone-3": ("z",), "product:p2": ("bp",), "department:7": ("bd",), "all": ("ros",)},
        products=products,
    )
    decision = select(v, AdRequest(zone_id="zone-3", basket_product_ids=("p2",), max_ads=4))
    assert served(decision) == ["z", "bp", "bd", "ros"]


def test_highest_bid_wins() -> None:
    """Of two eligible line items the higher bid is served, at the runner-up's price (second price)."""
    v = view([li("low", 1000), li("high", 5000)], {"all": ("low", "high")})
    decision = select(v, AdRequest())
    assert served(decision) == ["high"]
    assert decision.ads[0].price_micros == 1000


def test_tie_breaks_by_line_item_id() -> None:
    """Equal bids are broken by line item id, so decisions are deterministic."""
    v = view([li("b", 1000), li("a", 1000)], {"all": ("b", "a")})
    assert served(select(v, AdRequest())) == ["a"]


def test_cpc_ranked_by_expected_cpm() -> None:
    """A CPC bid competes as bid × predicted CTR × 1000."""
    cpc = li("cpc", 500_000, pricing_model=PricingModel.PRICING_MODEL_CPC, predicted_ctr=0.01)
    assert expected_cpm_micros(cpc) == 5_000_000
    v = view([cpc, li("cpm", 4_000_000)], {"all": ("cpc", "cpm")})
    assert served(select(v, AdRequest())) == ["cpc"]


def test_cpa_ranked_by_expected_cpm() -> None:
    """A CPA bid competes as bid × predicted CVR × 1000."""
    cpa = li("cpa", 2_000_000, pricing_model=PricingModel.PRICING_MODEL_CPA, predicted_cvr=0.001)
    assert expected_cpm_micros(cpa) == 2_000_000


def test_flight_outside_now_is_not_eligible() -> None:
    """A line item whose flight has not started or has ended does not serve."""
    v = view(
        [li("future", start_unix_ms=NOW_MS + 1), li("past", end_unix_ms=NOW_MS)],
        {"all": ("future", "past")},
    )
    assert select(v, AdRequest()).no_fill_reason == NoFillReason.OUT_OF_SCHEDULE


def test_flight_covering_now_serves() -> None:
    """A line item whose flight covers now serves."""
    v = view([li("on", start_unix_ms=NOW_MS - 1, end_unix_ms=NOW_MS + 1)], {"all": ("on",)})
    assert served(select(v, AdRequest())) == ["on"]


def test_trigger_restriction() -> None:
    """A line item limited to some triggers serves only on them."""
    v = view([li("scan", triggers=frozenset({Trigger.TRIGGER_SCAN}))], {"all": ("scan",)})
    assert served(select(v, AdRequest(trigger=Trigger.TRIGGER_SCAN))) == ["scan"]
    assert select(v, AdRequest(trigger=Trigger.TRIGGER_ZONE_ENTER)).no_fill_reason == NoFillReason.NOT_ELIGIBLE


def test_frequency_cap_per_session() -> None:
    """A line item capped at 2 is not served a third time in the session; the reason says capped."""
    v = view([li("a", frequency_cap_per_session=2)], {"all": ("a",)})
    assert served(select(v, AdRequest(), frequency={"a": 1})) == ["a"]
    assert select(v, AdRequest(), frequency={"a": 2}).no_fill_reason == NoFillReason.FREQUENCY_CAPPED


def test_capped_winner_yields_to_next_bid() -> None:
    """When the top bid is capped, the next eligible line item wins."""
    v = view([li("top", 9000, frequency_cap_per_session=1), li("next", 1000)], {"all": ("top", "next")})
    assert served(select(v, AdRequest(), frequency={"top": 1})) == ["next"]


def test_never_promotes_product_in_basket() -> None:
    """A line item promoting a product already in the basket is not served."""
    v = view([li("a", promoted_product_ids=frozenset({"p1"})), li("b", 1)], {"all": ("a", "b")})
    assert served(select(v, AdRequest(basket_product_ids=("p1",)))) == ["b"]


def test_creative_promoting_basket_product_is_skipped() -> None:
    """A creative whose promoted product is in the basket is not shown."""
    v = view([li("a")], {"all": ("a",)}, creatives=[Creative("cr-a", format=BANNER, promoted_product_id="p1")])
    assert select(v, AdRequest(basket_product_ids=("p1",))).no_fill_reason == NoFillReason.IN_BASKET


def test_spend_at_allowance_is_not_eligible() -> None:
    """A line item whose local spend reached its allowance stops serving."""
    v = view([li("a", budget_allowance_micros=100)], {"all": ("a",)})
    assert served(select(v, AdRequest(), spend_micros={"a": 99})) == ["a"]
    assert select(v, AdRequest(), spend_micros={"a": 100}).no_fill_reason == NoFillReason.BUDGET_EXHAUSTED


def test_one_ad_per_slot_and_line_item_once() -> None:
    """Each slot gets one ad and a line item appears at most once per response."""
    v = view([li("a", 3), li("b", 2)], {"all": ("a", "b"), "zone:z": ("a",)})
    decision = select(v, AdRequest(zone_id="z", slots=(SlotRequest("s1"), SlotRequest("s2"), SlotRequest("s3"))))
    assert [(ad.slot_id, ad.line_item.line_item_id) for ad in decision.ads] == [("s1", "a"), ("s2", "b")]


def test_default_max_ads() -> None:
    """Without slots or max_ads the edge's default number of ads is served."""
    v = view([li("a", 3), li("b", 2)], {"all": ("a", "b")})
    assert served(select(v, AdRequest(), default_max_ads=2)) == ["a", "b"]
    assert served(select(v, AdRequest(max_ads=1), default_max_ads=2)) == ["a"]


def test_slot_format_must_match_creative() -> None:
    """A slot asking for a coupon gets a line item with a coupon creative, or NO_SLOTS when none has one."""
    v = view(
        [li("banner", 9), li("coupon", 1)],
        {"all": ("banner", "coupon")},
        creatives=[Creative("cr-banner", format=BANNER), Creative("cr-coupon", format=COUPON)],
    )
    assert served(select(v, AdRequest(slots=(SlotRequest("s", COUPON),)))) == ["coupon"]
    no_coupon = view([li("banner")], {"all": ("banner",)})
    decision = select(no_coupon, AdRequest(slots=(SlotRequest("s", COUPON),)))
    assert decision.no_fill_reason == NoFillReason.NO_SLOTS
