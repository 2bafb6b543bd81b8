"""Learned click rates close the loop: compile → serve → clicks → rollups → recompile. Pure, seeded."""

from __future__ import annotations

import random
from collections import defaultdict

from cartads.v1 import admin_pb2, common_pb2
from cloud_core.compile.compiler import CompileInput, CompileSettings, compile_store_index
from cloud_core.delivery.predictions import Outcomes, PredictionSettings, predict_all
from edge_node.index.view import build_view
from edge_node.serving.eligibility import SessionCounts
from edge_node.serving.selection import AdRequest, select_ads
from tests.cloud_core.helpers import AISLES, DEPARTMENTS, NOW, PRODUCTS, campaign, creative, line_item

# What shoppers really do: the line item that sorts first clicks at 2%, its rival at 8%.
TRUE_CTR = {"a-low": 0.02, "b-high": 0.08}
SCAN = common_pb2.TRIGGER_SCAN
NOW_MS = int(NOW.timestamp() * 1000)


def _inputs(predictions: dict[str, object]) -> CompileInput:
    items = []
    for lid in TRUE_CTR:
        item = line_item(lid, pricing_model=common_pb2.PRICING_MODEL_CPC, bid_micros=1_000_000)
        # One ad of each per trip, so the second request of a trip shows the other line item.
        item.frequency_cap_per_session = 1
        items.append(item)
    return CompileInput(
        store=admin_pb2.Store(store_id="s1", display_name="Test Market", time_zone="UTC"),
        signing_key=b"k" * 32,
        aisles=AISLES,
        departments=DEPARTMENTS,
        products=PRODUCTS,
        campaigns=[campaign(budget_micros=10**12)],
        line_items=items,
        creatives=[creative()],
        campaign_spend_micros={},
        predictions=predictions,  # type: ignore[arg-type]
    )


def _round(predictions: dict[str, object], outcomes: dict[str, dict[int, list[int]]], rng: random.Random) -> float:
    """Serve 400 two-request trips; add impressions and clicks to ``outcomes``; the high-CTR first-ad share."""
    view = build_view(compile_store_index(_inputs(predictions), CompileSettings(), NOW)).for_trigger(SCAN)
    first_wins = 0
    for _ in range(400):
        shown: dict[str, int] = {}
        for request_number in range(2):
            decision = select_ads(
                view,
                AdRequest(trigger=SCAN),
                session=SessionCounts(line_items=shown),
                now_unix_ms=NOW_MS,
                rng=rng,
            )
            for ad in decision.ads:
                lid = ad.line_item.line_item_id
                shown[lid] = shown.get(lid, 0) + 1
                counts = outcomes[lid][SCAN]
                counts[0] += 1
                counts[1] += rng.random() < TRUE_CTR[lid]
                if request_number == 0:
                    first_wins += lid == "b-high"
    return first_wins / 400


def test_high_click_rate_line_item_wins_more_often_over_time() -> None:
    """Of two equal bids the low-CTR line item wins first, the high-CTR one once their clicks are learned."""
    rng = random.Random(42)
    outcomes: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    shares = []
    predictions: dict[str, object] = {}
    for _ in range(3):
        shares.append(_round(predictions, outcomes, rng))
        rolled = {lid: {t: Outcomes(n, c, 0) for t, (n, c) in by.items()} for lid, by in outcomes.items()}
        predictions = dict(predict_all(rolled, PredictionSettings()))
    assert shares[0] < 0.1
    assert shares[-1] > 0.9
    assert shares == sorted(shares)
