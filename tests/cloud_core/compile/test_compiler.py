"""The index compiler, with plain values."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from cartads.v1 import admin_pb2, common_pb2, index_pb2
from cloud_core.compile.compiler import CompileInput, CompileSettings, compile_store_index
from cloud_core.delivery.leases import lease_window
from cloud_core.delivery.predictions import PRIOR_CTR
from tests.cloud_core.helpers import AISLES, DEPARTMENTS, NOW, PRODUCTS, campaign, creative, line_item

SETTINGS = CompileSettings(token_ttl_s=600, reserve_cpm_micros=100)
KEY = b"k" * 32


def base_input(**changes: object) -> CompileInput:
    inp = CompileInput(
        store=admin_pb2.Store(store_id="s1", display_name="Test Market", time_zone="America/Chicago"),
        signing_key=KEY,
        aisles=AISLES,
        departments=DEPARTMENTS,
        products=PRODUCTS,
        campaigns=[campaign()],
        line_items=[line_item()],
        creatives=[creative()],
        campaign_spend_micros={},
    )
    return replace(inp, **changes)  # type: ignore[arg-type]


def postings(index: index_pb2.StoreIndex) -> dict[str, list[str]]:
    return {p.key: list(p.line_item_ids) for p in index.postings}


def test_settings_come_from_store_and_config() -> None:
    """Time zone, token TTL, reserve and name are copied into the settings; the store's key is not."""
    s = compile_store_index(base_input(), SETTINGS, NOW).settings
    assert (s.time_zone, s.signing_key, s.token_ttl_s, s.reserve_cpm_micros, s.display_name) == (
        "America/Chicago",
        b"",
        600,
        100,
        "Test Market",
    )


def test_untargeted_line_item_is_run_of_store() -> None:
    """A line item with no targeting is posted under "all"."""
    assert postings(compile_store_index(base_input(), SETTINGS, NOW)) == {"all": ["li1"]}


def test_targeted_line_item_is_posted_under_each_key() -> None:
    """Products, brands, aisles, departments and zones each become a sorted posting key."""
    targeting = admin_pb2.Targeting(
        product_ids=["24852"], brands=["Chiquita"], aisle_ids=["24"], department_ids=["4"], zone_ids=["zone-24"]
    )
    items = [line_item("li2", targeting=targeting), line_item("li1", targeting=targeting)]
    index = compile_store_index(base_input(line_items=items), SETTINGS, NOW)
    assert [p.key for p in index.postings] == [
        "aisle:24",
        "brand:Chiquita",
        "department:4",
        "product:24852",
        "zone:zone-24",
    ]
    assert all(list(p.line_item_ids) == ["li1", "li2"] for p in index.postings)


def test_paused_line_item_or_campaign_is_left_out() -> None:
    """Paused line items and line items of paused campaigns do not serve."""
    paused_item = base_input(line_items=[line_item(state=admin_pb2.SERVING_STATE_PAUSED)])
    paused_campaign = base_input(campaigns=[campaign(state=admin_pb2.SERVING_STATE_PAUSED)])
    assert not compile_store_index(paused_item, SETTINGS, NOW).line_items
    assert not compile_store_index(paused_campaign, SETTINGS, NOW).line_items


def test_ended_flight_is_left_out_and_future_flight_kept() -> None:
    """A flight that has ended is dropped; one that starts later is compiled in."""
    ended = base_input(campaigns=[campaign(start=NOW - timedelta(days=9), end=NOW - timedelta(seconds=1))])
    future = base_input(campaigns=[campaign(start=NOW + timedelta(days=1), end=NOW + timedelta(days=9))])
    assert not compile_store_index(ended, SETTINGS, NOW).line_items
    assert [li.line_item_id for li in compile_store_index(future, SETTINGS, NOW).line_items] == ["li1"]


def test_line_item_for_another_store_is_left_out() -> None:
    """store_ids that do not include this store exclude the line item."""
    inp = base_input(line_items=[line_item(targeting=admin_pb2.Targeting(store_ids=["s2"]))])
    assert not compile_store_index(inp, SETTINGS, NOW).line_items


def test_spent_budget_is_left_out_and_allowance_is_remaining_budget() -> None:
    """A spent campaign does not serve; otherwise the allowance is a lease on what remains of the budget."""
    spent = base_input(campaign_spend_micros={"c1": 10_000_000})
    partly = base_input(campaign_spend_micros={"c1": 2_500_000})
    assert not compile_store_index(spent, SETTINGS, NOW).line_items
    item = compile_store_index(partly, SETTINGS, NOW).line_items[0]
    assert 0 < item.budget_allowance_micros <= 7_500_000
    # The same window's part of what remains: three quarters of what the untouched budget would lease.
    untouched = compile_store_index(base_input(), SETTINGS, NOW).line_items[0]
    assert item.budget_allowance_micros == pytest.approx(0.75 * untouched.budget_allowance_micros, abs=1)
    window, _, _ = lease_window(int(NOW.timestamp()) * 1_000_000, SETTINGS.lease.lease_period_s)
    assert item.budget_lease_id == f"{SETTINGS.lease.lease_period_s}s-{window}"
    assert item.budget_lease_expire_time.seconds > NOW.timestamp()


def test_index_line_item_fields() -> None:
    """Bid, pricing, advertiser, flight, priors, promoted products and triggers are carried over."""
    targeting = admin_pb2.Targeting(triggers=[common_pb2.TRIGGER_SCAN])
    inp = base_input(line_items=[line_item(pricing_model=common_pb2.PRICING_MODEL_CPC, targeting=targeting)])
    item = compile_store_index(inp, SETTINGS, NOW).line_items[0]
    assert item.advertiser_id == "acme"
    assert item.campaign_id == "c1"
    assert item.pricing_model == common_pb2.PRICING_MODEL_CPC
    assert item.bid_micros == 5_000_000
    assert item.predicted_ctr == PRIOR_CTR
    assert list(item.promoted_product_ids) == ["24852"]
    assert list(item.triggers) == [common_pb2.TRIGGER_SCAN]
    assert item.end_time == campaign().end_time


def test_creative_gets_location_hint_and_price() -> None:
    """The promoted product's aisle and shelf price are filled in from the catalog."""
    [cr] = compile_store_index(base_input(), SETTINGS, NOW).creatives
    assert cr.location_hint == "aisle 24 — fresh fruits"
    assert cr.price_micros == 290_000


def test_line_item_without_existing_creative_is_left_out() -> None:
    """A line item whose creatives are all missing cannot serve."""
    assert not compile_store_index(base_input(creatives=[]), SETTINGS, NOW).line_items


def test_products_carry_zone_and_aisle_name() -> None:
    """Products get their aisle's zone (default "zone-<aisle>") and aisle name."""
    products = {p.product_id: p for p in compile_store_index(base_input(), SETTINGS, NOW).products}
    assert (products["24852"].zone_id, products["24852"].aisle_name) == ("zone-24", "fresh fruits")
    assert products["21903"].zone_id == "produce-east"
    assert products["13176"].brand == "Organic"


def test_version_ignores_compile_time() -> None:
    """The same content compiled at two moments has the same version."""
    a = compile_store_index(base_input(), SETTINGS, NOW)
    b = compile_store_index(base_input(), SETTINGS, NOW + timedelta(minutes=5))
    assert a.compile_time != b.compile_time
    assert a.version == b.version
    assert len(a.version) == 64


def test_version_changes_with_content() -> None:
    """A different bid gives a different version."""
    a = compile_store_index(base_input(), SETTINGS, NOW)
    b = compile_store_index(base_input(line_items=[line_item(bid_micros=6_000_000)]), SETTINGS, NOW)
    assert a.version != b.version
