"""The compiler's serving fields: tiers, caps, exclusion, dayparting, trigger postings, pacing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from cartads.time_units import dt_to_us
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.compile.compiler import (
    MIN_PACING_FACTOR,
    CompileInput,
    CompileSettings,
    compile_store_index,
    pacing_factor,
)
from tests.cloud_core.helpers import AISLES, DEPARTMENTS, NOW, PRODUCTS, campaign, creative, line_item

SETTINGS = CompileSettings(token_ttl_s=600, reserve_cpm_micros=100, max_ads_per_trip=12, min_ad_interval_ms=5000)


def compile_one(item: admin_pb2.LineItem, camp: admin_pb2.Campaign | None = None) -> CompileInput:
    return CompileInput(
        store=admin_pb2.Store(store_id="s1", display_name="Test Market", time_zone="America/Chicago"),
        signing_key=b"k" * 32,
        aisles=AISLES,
        departments=DEPARTMENTS,
        products=PRODUCTS,
        campaigns=[camp or campaign()],
        line_items=[item],
        creatives=[creative()],
        campaign_spend_micros={},
    )


def test_serving_fields_are_compiled() -> None:
    """Tier, creative and campaign caps, exclusion label and dayparting reach the index line item."""
    item = line_item(targeting=admin_pb2.Targeting(daypart_hours=[9, 8, 9], daypart_weekdays=[6, 7]))
    item.priority_tier = common_pb2.PRIORITY_TIER_SPONSORSHIP
    item.creative_frequency_cap_per_session = 2
    item.exclusion_label = "bananas"
    camp = campaign()
    camp.frequency_cap_per_session = 4
    li = compile_store_index(compile_one(item, camp), SETTINGS, NOW).line_items[0]
    assert (li.priority_tier, li.creative_frequency_cap_per_session, li.campaign_frequency_cap_per_session) == (
        common_pb2.PRIORITY_TIER_SPONSORSHIP,
        2,
        4,
    )
    assert (li.exclusion_label, list(li.daypart_hours), list(li.daypart_weekdays)) == ("bananas", [8, 9], [6, 7])


def test_trip_settings_are_compiled() -> None:
    """Ads per trip and the minimum interval between ads come from the compile settings."""
    settings = compile_store_index(compile_one(line_item()), SETTINGS, NOW).settings
    assert (settings.max_ads_per_trip, settings.min_ad_interval_ms) == (12, 5000)


def test_trigger_only_targeting_is_posted_by_trigger() -> None:
    """A line item that targets only triggers is posted under each trigger, not run-of-store."""
    item = line_item(targeting=admin_pb2.Targeting(triggers=[common_pb2.TRIGGER_CHECKOUT, common_pb2.TRIGGER_IDLE]))
    index = compile_store_index(compile_one(item), SETTINGS, NOW)
    assert {p.key for p in index.postings} == {"trigger:4", "trigger:5"}


def test_on_schedule_campaign_is_unpaced() -> None:
    """A campaign that spent no more of its budget than of its flight bids its full value."""
    camp = campaign(start=NOW - timedelta(days=5), end=NOW + timedelta(days=5), budget_micros=1000)
    assert pacing_factor(camp, {"c1": 400}, dt_to_us(NOW)) == 1.0


def test_campaign_ahead_of_schedule_is_slowed() -> None:
    """A campaign that spent 75% of its budget halfway through its flight is paced to 0.5."""
    camp = campaign(start=NOW - timedelta(days=5), end=NOW + timedelta(days=5), budget_micros=1000)
    assert pacing_factor(camp, {"c1": 750}, dt_to_us(NOW)) == pytest.approx(0.5)


def test_pacing_never_below_floor() -> None:
    """An almost spent campaign early in its flight is slowed to the floor, not to zero."""
    camp = campaign(start=NOW - timedelta(days=1), end=NOW + timedelta(days=99), budget_micros=1000)
    assert pacing_factor(camp, {"c1": 999}, dt_to_us(NOW)) == MIN_PACING_FACTOR


def test_pacing_is_compiled_into_line_item() -> None:
    """The index line item carries its campaign's pacing factor."""
    camp = campaign(start=NOW - timedelta(days=5), end=NOW + timedelta(days=5), budget_micros=1000)
    inp = replace(compile_one(line_item(), camp), campaign_spend_micros={"c1": 750})
    assert compile_store_index(inp, SETTINGS, NOW).line_items[0].pacing_factor == pytest.approx(0.5)
