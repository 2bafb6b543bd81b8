"""Pacing statistics on both engines: request counts once, rollups by trigger, controller state CAS."""

from __future__ import annotations

from cartads.time_units import us_to_ts
from cartads.v1 import admin_pb2, common_pb2
from cartads.v1.request_counts_pb2 import LineItemCountRow, RequestCountRow, RequestCounts
from cloud_core.delivery.pacing import ControllerState
from cloud_core.delivery.pacing_stats import PacingStatsQuery
from cloud_core.delivery.predictions import Outcomes
from cloud_core.events.outcomes import EventOutcome
from cloud_core.storage.cloud_store import SqlCloudStore
from tests.cloud_core.helpers import campaign, creative, line_item

HOUR_US = 3600 * 1_000_000
H0 = 490_000 * HOUR_US


def counts(requests: int, hour_us: int = H0, trigger: int = 2) -> RequestCounts:
    return RequestCounts(
        rows=[RequestCountRow(hour_start_time=us_to_ts(hour_us), trigger=trigger, requests=requests, ads=requests)],  # type: ignore[arg-type]
        line_items=[LineItemCountRow(hour_start_time=us_to_ts(hour_us), line_item_id="li1", ads=1, throttled=3)],
    )


def query(**fields: int) -> PacingStatsQuery:
    base = {"day_start_us": H0, "profile_since_us": 0, "traffic_since_us": 0, "outcomes_since_us": 0}
    return PacingStatsQuery(store_id="s1", **{**base, **fields})


async def test_request_counts_are_added_once_per_record(store: SqlCloudStore) -> None:
    """A record uploaded twice (a retried upload) adds its counts once; another record adds to them."""
    assert await store.pacing_stats.record_request_counts("s1", "e1", [("r1", counts(5))]) == 1
    assert await store.pacing_stats.record_request_counts("s1", "e1", [("r1", counts(5)), ("r2", counts(2))]) == 1
    stats = await store.pacing_stats.load_pacing_stats(query())
    assert stats.requests_by_hour == {H0: 7}
    assert stats.requests_by_store == {"s1": 7}
    assert await store.pacing_stats.line_item_request_counts("s1", 0) == {("li1", H0): (2, 6)}


async def test_request_counts_keep_trigger_and_outcome(store: SqlCloudStore) -> None:
    """Counts stay keyed by hour, trigger and no-fill reason."""
    await store.pacing_stats.record_request_counts(
        "s1", "e1", [("r1", counts(5, trigger=1)), ("r2", counts(3, H0 + HOUR_US))]
    )
    assert await store.pacing_stats.request_counts("s1", 0) == {(H0, 1, 0): (5, 5), (H0 + HOUR_US, 2, 0): (3, 3)}


async def test_profile_window_excludes_older_hours(store: SqlCloudStore) -> None:
    """Only hours inside the profile lookback count for the store's profile."""
    await store.pacing_stats.record_request_counts("s1", "e1", [("r1", counts(5)), ("r2", counts(3, H0 + 2 * HOUR_US))])
    stats = await store.pacing_stats.load_pacing_stats(query(profile_since_us=H0 + HOUR_US))
    assert stats.requests_by_hour == {H0 + 2 * HOUR_US: 3}


def ad_event(event_id: str, kind: int, trigger: int, ad_id: str) -> EventOutcome:
    return EventOutcome(
        seq=1,
        event_id=event_id,
        event_type=kind,
        cart_id="c",
        session_id="s",
        event_blob=b"",
        receive_time_us=H0 + 60_000_000,
        ad_id=ad_id,
        advertiser_id="acme",
        campaign_id="c1",
        line_item_id="li1",
        pricing_model=common_pb2.PRICING_MODEL_CPC,
        billable=True,
        charge_micros=500 if kind == common_pb2.EVENT_TYPE_CLICK else 0,
        trigger=trigger,
    )


async def test_billed_events_roll_up_by_trigger_once(store: SqlCloudStore) -> None:
    """Billed impressions and clicks reach the rollup of their trigger once, however often uploaded."""
    await store.advertisers.create_advertiser(admin_pb2.Advertiser(advertiser_id="acme", display_name="Acme"))
    await store.campaigns.create_campaign(campaign())
    events = [
        ad_event("i1", common_pb2.EVENT_TYPE_IMPRESSION, 2, "ad1"),
        ad_event("c1", common_pb2.EVENT_TYPE_CLICK, 2, "ad1"),
        ad_event("i2", common_pb2.EVENT_TYPE_IMPRESSION, 1, "ad2"),
    ]
    await store.ledger.record_events("s1", "e1", events)
    await store.ledger.record_events("s1", "e1", events)
    stats = await store.pacing_stats.load_pacing_stats(query())
    assert stats.outcomes == {"li1": {2: Outcomes(1, 1, 0), 1: Outcomes(1, 0, 0)}}
    assert stats.line_item_spend_today_micros == {"li1": 500}
    assert stats.campaign_spend_today_micros == {"c1": 500}


async def test_controller_state_is_compare_and_set(store: SqlCloudStore) -> None:
    """A state written from a stale read (another replica stepped first) is not written."""
    first = ControllerState(0.5, 100, 10, 0)
    assert await store.pacing_stats.save_pacing_states("s1", {"k": first}, {}) == 1
    assert await store.pacing_stats.save_pacing_states("s1", {"k": ControllerState(0.9, 150, 0, 0)}, {}) == 0
    assert await store.pacing_stats.save_pacing_states("s1", {"k": ControllerState(0.4, 200, 20, 0)}, {"k": first}) == 1
    assert await store.pacing_stats.save_pacing_states("s1", {"k": ControllerState(0.1, 250, 0, 0)}, {"k": first}) == 0
    stats = await store.pacing_stats.load_pacing_stats(query())
    assert stats.states == {"k": ControllerState(0.4, 200, 20, 0)}


async def test_line_item_pacing_fields_round_trip(store: SqlCloudStore) -> None:
    """A line item's pacing type and daily budget are stored and read back."""
    await store.advertisers.create_advertiser(admin_pb2.Advertiser(advertiser_id="acme", display_name="Acme"))
    await store.campaigns.create_campaign(campaign())
    await store.campaigns.create_creative(creative())
    item = line_item()
    item.pacing_type = admin_pb2.PACING_TYPE_ASAP
    item.daily_budget_micros = 7_000_000
    await store.campaigns.create_line_item(item)
    found = await store.campaigns.get_line_item("li1")
    assert found is not None
    assert (found.pacing_type, found.daily_budget_micros) == (admin_pb2.PACING_TYPE_ASAP, 7_000_000)
