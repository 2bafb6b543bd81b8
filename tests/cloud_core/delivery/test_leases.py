"""Lease sizing: windows, even pacing, traffic shares. Pure."""

from __future__ import annotations

import pytest

from cartads.v1 import admin_pb2
from cloud_core.compile.templates import campaign_store_targets
from cloud_core.delivery.leases import (
    LeaseSettings,
    StoreTraffic,
    lease_for,
    lease_window,
    pacing_fraction,
    store_share,
)

HOUR_US = 3600 * 1_000_000
SETTINGS = LeaseSettings(lease_period_s=900, lease_grace_s=180, traffic_prior_events=0.0)


def test_windows_are_aligned_to_the_period() -> None:
    """Every time inside one window maps to the same window number and bounds."""
    assert lease_window(0, 900) == (0, 0, 900_000_000)
    assert lease_window(901_000_000, 900) == (1, 900_000_000, 1_800_000_000)


def test_pacing_is_even_over_the_remaining_flight() -> None:
    """A window is its share of the remaining flight, and 1 in the flight's last window."""
    assert pacing_fraction(0, 900, 4 * 900_000_000) == pytest.approx(0.25)
    assert pacing_fraction(0, 900, 100) == 1.0


def test_shares_follow_traffic_and_are_equal_without_data() -> None:
    """A store's share is its part of recent events; with no events the stores share equally."""
    stores = frozenset({"a", "b"})
    assert store_share("a", stores, StoreTraffic({}, stores), 0.0) == pytest.approx(0.5)
    assert store_share("a", stores, StoreTraffic({"a": 300, "b": 100}, stores), 0.0) == pytest.approx(0.75)


def test_prior_keeps_a_quiet_store_in() -> None:
    """A store without events still gets a (small) share when others have data."""
    stores = frozenset({"a", "b"})
    assert 0 < store_share("b", stores, StoreTraffic({"a": 1000}, stores), 10.0) < 0.05


def test_lease_allowance_and_id() -> None:
    """Allowance is remaining x pacing x share; the id names the window; expiry adds the grace."""
    stores = frozenset({"a", "b"})
    lease = lease_for(
        store_id="a",
        remaining_budget_micros=8_000_000,
        flight_end_us=4 * 900_000_000,
        targeted_store_ids=frozenset(),
        now_us=10,
        settings=SETTINGS,
        traffic=StoreTraffic({}, stores),
    )
    assert lease.allowance_micros == 1_000_000
    assert lease.lease_id == "900s-0"
    assert lease.expire_us == 900_000_000 + 180_000_000


def test_allowances_of_all_stores_fit_the_remaining_budget() -> None:
    """Summed over the stores a campaign serves, one window's allowances never exceed what remains."""
    stores = frozenset({"a", "b", "c"})
    traffic = StoreTraffic({"a": 5, "b": 50, "c": 500}, stores)
    total = sum(
        lease_for(
            store_id=s,
            remaining_budget_micros=1_000_000,
            flight_end_us=HOUR_US // 2,
            targeted_store_ids=frozenset(),
            now_us=0,
            settings=SETTINGS,
            traffic=traffic,
        ).allowance_micros
        for s in stores
    )
    assert total <= 1_000_000


def test_targeted_stores_share_among_themselves() -> None:
    """A campaign targeting some stores splits its allowance among those stores only."""
    lease = lease_for(
        store_id="a",
        remaining_budget_micros=1_000_000,
        flight_end_us=1,
        targeted_store_ids=frozenset({"a"}),
        now_us=0,
        settings=SETTINGS,
        traffic=StoreTraffic({}, frozenset({"a", "b", "c"})),
    )
    assert lease.allowance_micros == 1_000_000


def test_campaign_targets_are_the_union_unless_one_line_item_serves_everywhere() -> None:
    """A campaign's stores are its line items' targeted stores; one untargeted line item means all stores."""

    def li(campaign_id: str, *stores: str) -> admin_pb2.LineItem:
        return admin_pb2.LineItem(campaign_id=campaign_id, targeting=admin_pb2.Targeting(store_ids=stores))

    targets = campaign_store_targets([li("c1", "a"), li("c1", "b"), li("c2", "a"), li("c2")])
    assert targets == {"c1": frozenset({"a", "b"}), "c2": frozenset()}
