"""The edge's side of pacing and learned rates: the throttle, and ranking by a trigger's rates. Pure."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from cartads.v1 import index_pb2
from cartads.v1.common_pb2 import PricingModel, Trigger
from edge_node.index.view import Creative, LineItem, ServingView, build_view
from edge_node.serving.selection import AdRequest, NoFillReason, select_ads
from tests.edge_node.helpers import line_item, make_index

NOW_MS = 1_700_000_000_000
CPC = PricingModel.PRICING_MODEL_CPC


def li(line_item_id: str, bid: int = 1000, **fields: Any) -> LineItem:
    fields.setdefault("creative_ids", (f"cr-{line_item_id}",))
    fields.setdefault("budget_allowance_micros", 10**12)
    return LineItem(line_item_id=line_item_id, bid_micros=bid, **fields)


def view(line_items: list[LineItem]) -> ServingView:
    return ServingView(
        version="v1",
        store_id="s",
        line_items={x.line_item_id: x for x in line_items},
        creatives={c: Creative(c) for x in line_items for c in x.creative_ids},
        postings={"all": tuple(x.line_item_id for x in line_items)},
    )


def wins(v: ServingView, line_item_id: str, n: int, seed: int = 1, **request: Any) -> int:
    rng = random.Random(seed)
    return sum(
        any(
            a.line_item.line_item_id == line_item_id
            for a in select_ads(v, AdRequest(**request), now_unix_ms=NOW_MS, rng=rng).ads
        )
        for _ in range(n)
    )


def test_pass_through_rate_throttles_in_proportion() -> None:
    """A line item with pass-through 0.25 takes part in about a quarter of the requests it could win."""
    won = wins(view([li("paced", 5000, pass_through_rate=0.25), li("rival", 1000)]), "paced", 4000)
    assert 850 < won < 1150


def test_throttled_line_item_leaves_the_auction_to_the_next() -> None:
    """When the throttle holds the winner back, the next line item wins, priced against those left."""
    v = view([li("paced", 5000, pass_through_rate=0.001), li("rival", 1000), li("third", 400)])
    decision = select_ads(v, AdRequest(), now_unix_ms=NOW_MS, rng=random.Random(3))
    assert [a.line_item.line_item_id for a in decision.ads] == ["rival"]
    assert decision.ads[0].price_micros == 400
    assert decision.throttled == ("paced",)


def test_all_throttled_is_its_own_no_fill_reason() -> None:
    """A request whose every eligible candidate was throttled gets no ad with reason THROTTLED."""
    decision = select_ads(
        view([li("paced", pass_through_rate=0.001)]), AdRequest(), now_unix_ms=NOW_MS, rng=random.Random(5)
    )
    assert decision.no_fill_reason == NoFillReason.THROTTLED
    assert decision.throttled == ("paced",)


def test_without_a_random_source_nothing_is_throttled() -> None:
    """Selection without rng (tests, tools) serves every eligible line item unthrottled."""
    decision = select_ads(view([li("paced", pass_through_rate=0.001)]), AdRequest(), now_unix_ms=NOW_MS)
    assert [a.line_item.line_item_id for a in decision.ads] == ["paced"]


def test_unset_pass_through_rate_means_unthrottled() -> None:
    """An index line item without a pass-through rate (0) serves as rate 1."""
    index = make_index([line_item("a")], {"all": ["a"]})
    assert build_view(index).line_items["a"].pass_through_rate == 1.0


def _cpc_index() -> index_pb2.StoreIndex:
    a = line_item("a", bid_micros=1000, pricing_model=CPC, predicted_ctr=0.02)
    b = line_item("b", bid_micros=1000, pricing_model=CPC, predicted_ctr=0.01)
    # b clicks far better on scans than it does overall.
    b.trigger_rates.add(trigger=Trigger.TRIGGER_SCAN, predicted_ctr=0.05, predicted_cvr=0.01)
    return make_index([a, b], {"all": ["a", "b"]})


def test_trigger_rates_rank_requests_of_that_trigger() -> None:
    """A scan request ranks b by its scan click rate and picks it; other triggers rank by the overall rate."""
    v = build_view(_cpc_index())
    scan = select_ads(v.for_trigger(Trigger.TRIGGER_SCAN), AdRequest(trigger=Trigger.TRIGGER_SCAN), now_unix_ms=NOW_MS)
    idle = select_ads(v.for_trigger(Trigger.TRIGGER_IDLE), AdRequest(trigger=Trigger.TRIGGER_IDLE), now_unix_ms=NOW_MS)
    assert [a.line_item.line_item_id for a in scan.ads] == ["b"]
    assert [a.line_item.line_item_id for a in idle.ads] == ["a"]


def test_trigger_views_share_the_version() -> None:
    """A trigger's view is the same index version: same version string, same line item ids."""
    v = build_view(_cpc_index())
    scan = v.for_trigger(Trigger.TRIGGER_SCAN)
    assert scan is not v
    assert scan.version == v.version
    assert set(scan.line_items) == set(v.line_items)
    assert v.for_trigger(Trigger.TRIGGER_CHECKOUT) is v


def test_trigger_rankings_share_what_follows_from_the_catalog() -> None:
    """Each trigger's ranking holds the version's creative protobufs and line item creatives once, not a copy."""
    v = build_view(_cpc_index())
    base, scan = v.tables, v.for_trigger(Trigger.TRIGGER_SCAN).tables
    assert scan is not base
    assert scan.creative_pb is base.creative_pb
    by_id = {e.line_item_id: e for e in base.entries}
    assert all(e.creatives is by_id[e.line_item_id].creatives for e in scan.entries)


def test_a_copy_with_other_creatives_gets_its_own_tables_parts() -> None:
    """A view copied with other creatives serves those, not the shared parts of the version it came from."""
    v = build_view(_cpc_index())
    _ = v.tables
    other = {cid: dataclasses.replace(c, headline="changed") for cid, c in v.creatives.items()}
    copy = dataclasses.replace(v, creatives=other)
    assert {c.headline for e in copy.tables.entries for c in e.creatives} == {"changed"}
    assert copy.tables.creative_pb["cr-a"].headline == "changed"
