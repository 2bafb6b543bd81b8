"""Experiment arms on the edge: plans per arm combination, overrides in selection, stamped events."""

from __future__ import annotations

from cartads.v1.common_pb2 import ArmAssignment, CartEvent, EventType, PricingModel
from edge_node.events.pipeline import stamp_events
from edge_node.index.arms import Arm, Layer
from edge_node.index.view import Creative, LineItem, Product, ServingView
from edge_node.serving.selection import AdRequest, select_ads

NOW_MS = 1_700_000_000_000
ALL = 10_000


def _view(layers: tuple[Layer, ...], line_items: list[LineItem] | None = None, reserve: int = 0) -> ServingView:
    items = line_items or [LineItem("cpm", bid_micros=2_000, creative_ids=("cr-cpm",), budget_allowance_micros=10**9)]
    return ServingView(
        version="v1",
        store_id="s",
        line_items={li.line_item_id: li for li in items},
        creatives={
            f"cr-{li.line_item_id}": Creative(f"cr-{li.line_item_id}", promoted_product_id="p1") for li in items
        },
        products={"p1": Product("p1", price_micros=3_500_000), "p2": Product("p2", price_micros=1_000_000)},
        postings={"all": tuple(li.line_item_id for li in items)},
        reserve_cpm_micros=reserve,
        experiment_layers=layers,
    )


def _select(view: ServingView, session_id: str = "trip-1", **kwargs: object) -> list[str]:
    plan = view.experiments.plan_for(session_id)
    decision = select_ads(view, AdRequest(max_ads=3), now_unix_ms=NOW_MS, plan=plan, **kwargs)  # type: ignore[arg-type]
    return [a.line_item.line_item_id for a in decision.ads] or [decision.no_fill_reason.name]


def test_holdout_trip_gets_the_holdout_no_fill() -> None:
    """A trip in a holdout arm gets no ad and the EXPERIMENT_HOLDOUT reason, whatever is eligible."""
    view = _view((Layer("L", "s", (Arm("holdout", ALL, holdout=True),)),))
    assert _select(view) == ["EXPERIMENT_HOLDOUT"]


def test_trip_outside_every_layer_serves_normally() -> None:
    """A layer whose arms cover 0% of trips changes nothing: the trip is in no arm."""
    view = _view((Layer("L", "s", ()),))
    assert view.experiments.plan_for("trip-1").arms == ()
    assert _select(view) == ["cpm"]


def test_reserve_override_applies_to_the_arms_trips() -> None:
    """An arm's reserve above every bid leaves its trips with BELOW_RESERVE; the store's reserve is 0."""
    view = _view((Layer("L", "s", (Arm("strict", ALL, reserve_cpm_micros=1_000_000),)),))
    assert _select(view) == ["BELOW_RESERVE"]


def test_click_rate_weight_reranks_cpc_line_items() -> None:
    """Weighting predicted click rates ×10 lets a CPC bid outrank a CPM bid it loses to otherwise."""
    items = [
        LineItem("cpm", bid_micros=3_000_000, creative_ids=("cr-cpm",), budget_allowance_micros=10**9),
        LineItem(
            "cpc",
            pricing_model=PricingModel.PRICING_MODEL_CPC,
            bid_micros=100_000,
            predicted_ctr=0.01,
            creative_ids=("cr-cpc",),
            budget_allowance_micros=10**9,
        ),
    ]
    control = _view((Layer("L", "s", (Arm("control", ALL),)),), items)
    boosted = _view((Layer("L", "s", (Arm("boost", ALL, click_rate_weight=10.0),)),), items)
    assert _select(control)[0] == "cpm"
    assert _select(boosted)[0] == "cpc"


def test_max_ads_per_trip_override_caps_the_response() -> None:
    """An arm's ads-per-trip cap of 1 limits a three-slot request to one ad."""
    items = [
        LineItem(x, bid_micros=2_000 + i, creative_ids=(f"cr-{x}",), budget_allowance_micros=10**9)
        for i, x in enumerate("abc")
    ]
    capped = _view((Layer("L", "s", (Arm("one", ALL, max_ads_per_trip=1),)),), items)
    assert len(_select(capped)) == 1
    assert len(_select(_view((), items))) == 3


def test_plans_carry_the_arms_of_every_layer() -> None:
    """A trip in two layers gets one ArmAssignment per layer, the same on every lookup."""
    view = _view((Layer("A", "sa", (Arm("a1", ALL),)), Layer("B", "sb", (Arm("b1", ALL),))))
    plan = view.experiments.plan_for("trip-9")
    assert plan.arms == (("A", "a1"), ("B", "b1"))
    assert [(a.layer_id, a.arm_id) for a in plan.arm_pbs] == [("A", "a1"), ("B", "b1")]
    assert view.experiments.plan_for("trip-9") is plan


def test_stamp_replaces_cart_sent_arms_and_prices_basket_adds() -> None:
    """The edge overwrites arms a cart sent and prices basket adds, flagging advertised products."""
    view = _view((Layer("L", "s", (Arm("only", ALL),)),))
    forged = CartEvent(
        event_id="e1",
        type=EventType.EVENT_TYPE_BASKET_ADD,
        session_id="trip-1",
        product_id="p1",
        unit_price_micros=1,
        experiment_arms=[ArmAssignment(layer_id="L", arm_id="forged")],
    )
    plain = CartEvent(event_id="e2", type=EventType.EVENT_TYPE_BASKET_ADD, session_id="trip-1", product_id="p2")
    stamp_events([forged, plain], view)
    assert [(a.layer_id, a.arm_id) for a in forged.experiment_arms] == [("L", "only")]
    assert (forged.unit_price_micros, forged.advertised_product) == (3_500_000, True)
    assert (plain.unit_price_micros, plain.advertised_product) == (1_000_000, False)


def test_stamp_without_index_clears_what_the_cart_sent() -> None:
    """With no index the edge knows no arms, so cart-sent arms and prices are dropped, not trusted."""
    event = CartEvent(event_id="e1", unit_price_micros=5, advertised_product=True)
    event.experiment_arms.add(layer_id="L", arm_id="x")
    stamp_events([event], None)
    assert (len(event.experiment_arms), event.unit_price_micros, event.advertised_product) == (0, 0, False)
