"""The compiler's delivery fields: pass-through rates, line items done for today, learned rates, leases."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from cartads.v1 import admin_pb2, common_pb2
from cloud_core.compile.compiler import CompileInput, CompileSettings, compile_store_index
from cloud_core.delivery.pacing import StorePacing
from cloud_core.delivery.predictions import PRIOR_CTR, Prediction
from cloud_core.delivery.traffic_profile import HOURS, normalized
from tests.cloud_core.helpers import AISLES, DEPARTMENTS, NOW, PRODUCTS, campaign, creative, line_item

SETTINGS = CompileSettings()


def compile_input(*items: admin_pb2.LineItem, **fields: object) -> CompileInput:
    base = CompileInput(
        store=admin_pb2.Store(store_id="s1", display_name="Test Market", time_zone="UTC"),
        signing_key=b"k" * 32,
        aisles=AISLES,
        departments=DEPARTMENTS,
        products=PRODUCTS,
        campaigns=[campaign(start=NOW - timedelta(days=1), end=NOW + timedelta(days=9), budget_micros=10_000_000)],
        line_items=list(items) or [line_item()],
        creatives=[creative()],
        campaign_spend_micros={},
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_pass_through_rate_is_shipped_without_bid_shading() -> None:
    """With a pacing plan the line item carries its pass-through rate and a pacing factor of 1."""
    pacing = StorePacing(rates={"li1": 0.123456}, done_today=frozenset(), stepped={})
    li = compile_store_index(compile_input(pacing=pacing), SETTINGS, NOW).line_items[0]
    assert li.pass_through_rate == pytest.approx(0.123)
    assert li.pacing_factor == 1.0


def test_line_items_done_for_today_are_left_out() -> None:
    """A line item that spent its store's part of today's budget is not in today's index."""
    pacing = StorePacing(rates={"li1": 1.0}, done_today=frozenset({"li1"}), stepped={})
    assert not compile_store_index(compile_input(pacing=pacing), SETTINGS, NOW).line_items


def test_learned_rates_replace_the_priors() -> None:
    """Learned CTR/CVR are shipped, with one entry per trigger that has data."""
    prediction = Prediction(0.031, 0.004, {common_pb2.TRIGGER_SCAN: (0.05, 0.006)})
    li = compile_store_index(compile_input(predictions={"li1": prediction}), SETTINGS, NOW).line_items[0]
    assert li.predicted_ctr == pytest.approx(0.031)
    assert li.predicted_cvr == pytest.approx(0.004)
    assert [r.trigger for r in li.trigger_rates] == [common_pb2.TRIGGER_SCAN]
    assert li.trigger_rates[0].predicted_ctr == pytest.approx(0.05)


def test_line_items_without_data_keep_the_prior() -> None:
    """A line item with no outcomes is ranked by the prior click rate and has no trigger rates."""
    li = compile_store_index(compile_input(predictions={}), SETTINGS, NOW).line_items[0]
    assert li.predicted_ctr == PRIOR_CTR
    assert not li.trigger_rates


def _allowance(item: admin_pb2.LineItem, profile: tuple[float, ...]) -> int:
    pacing = StorePacing(rates={}, done_today=frozenset(), stepped={})
    inp = compile_input(item, pacing=pacing, traffic_profile=profile)
    return compile_store_index(inp, SETTINGS, NOW).line_items[0].budget_allowance_micros


def test_even_lease_follows_the_traffic_profile() -> None:
    """An EVEN campaign's lease at noon is larger when noon is busy than when the store is quiet then."""
    busy_noon = normalized([10.0 if h == 12 else 1.0 for h in range(HOURS)])
    quiet_noon = normalized([0.1 if h == 12 else 1.0 for h in range(HOURS)])
    assert _allowance(line_item(), busy_noon) > 5 * _allowance(line_item(), quiet_noon)


def test_asap_lease_may_spend_all_that_is_left() -> None:
    """An ASAP campaign's lease is its whole remaining budget (one store)."""
    item = line_item()
    item.pacing_type = admin_pb2.PACING_TYPE_ASAP
    assert _allowance(item, normalized([1.0] * HOURS)) == 10_000_000
