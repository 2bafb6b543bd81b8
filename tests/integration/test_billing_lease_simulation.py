"""Budget leases under outages, simulated with an injected clock: offline stores never blow the budget.

Pure: the real lease sizing (cloud_core.delivery.leases) and the real edge enforcement (edge_node.events.leases)
drive a minute-by-minute model of several stores whose carts keep shopping while some stores are
cut off from the cloud for hours. Billed spend is what the cloud has received.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from cartads.v1.common_pb2 import EventType, PricingModel
from cloud_core.delivery.leases import Lease, LeaseSettings, StoreTraffic, lease_for
from edge_node.events.leases import LeaseCharge, LeaseSpend, charge_millimicros, serving_spend_micros
from edge_node.index.view import LineItem

MINUTE_US = 60 * 1_000_000
HOUR_US = 60 * MINUTE_US
CPM_PRICE_MICROS = 5_000_000  # 5,000 micros per impression
IMPRESSION_MILLIMICROS = charge_millimicros(
    PricingModel.PRICING_MODEL_CPM, EventType.EVENT_TYPE_IMPRESSION, CPM_PRICE_MICROS
)


@dataclass
class Store:
    store_id: str
    demand_per_minute: int
    offline: list[tuple[int, int]]  # [start, end) in hours since the flight began
    lease: Lease | None = None
    spend: LeaseSpend = field(default_factory=LeaseSpend)
    unreported_micros: int = 0
    events: int = 0

    def is_offline(self, now_us: int) -> bool:
        return any(start * HOUR_US <= now_us < end * HOUR_US for start, end in self.offline)


@dataclass
class Outcome:
    budget_micros: int
    billed_micros: int
    worst_excess_over_outstanding_micros: int
    max_overspend_micros: int


Sizer = Callable[[str, int, int, int, StoreTraffic], Lease]


def leases(settings: LeaseSettings) -> Sizer:
    """The real sizing: cloud_core.delivery.leases.lease_for."""

    def size(store_id: str, remaining: int, now_us: int, end_us: int, traffic: StoreTraffic) -> Lease:
        return lease_for(
            store_id=store_id,
            remaining_budget_micros=remaining,
            flight_end_us=end_us,
            targeted_store_ids=frozenset(),
            now_us=now_us,
            settings=settings,
            traffic=traffic,
        )

    return size


def whole_remaining_budget(store_id: str, remaining: int, now_us: int, end_us: int, traffic: StoreTraffic) -> Lease:
    """Control, the skeleton's rule: each new index lets a store spend all that remains (no share, no pacing)."""
    return Lease(f"index-{now_us}", remaining, end_us)


def simulate(stores: list[Store], budget_micros: int, flight_hours: int, size: Sizer) -> Outcome:
    """Run the flight minute by minute; returns what was billed and how close it came to the bound."""
    rng = random.Random(5)
    end_us = flight_hours * HOUR_US
    billed = 0
    worst = -(10**18)
    max_over = 0
    traffic_ids = frozenset(s.store_id for s in stores)
    for now_us in range(0, end_us + 4 * HOUR_US, MINUTE_US):
        for store in stores:
            online = not store.is_offline(now_us)
            if online:
                # Reconnected or connected: upload everything, then take the freshest lease (index refresh).
                billed += store.unreported_micros
                store.unreported_micros = 0
                if now_us < end_us:
                    traffic = StoreTraffic({s.store_id: s.events for s in stores}, traffic_ids)
                    store.lease = size(store.store_id, budget_micros - billed, now_us, end_us, traffic)
                else:
                    store.lease = None  # the flight ended: the line item is gone from the index
            if store.lease is None or now_us >= end_us:
                continue
            item = LineItem(
                "li",
                campaign_id="camp",
                budget_allowance_micros=store.lease.allowance_micros,
                budget_lease_id=store.lease.lease_id,
                budget_lease_expire_unix_ms=store.lease.expire_us // 1000,
            )
            # Carts keep shopping whether or not the store is online; each wants an ad.
            for _ in range(rng.randint(store.demand_per_minute // 2, store.demand_per_minute)):
                used = serving_spend_micros(item, store.spend, "v", now_us // 1000, paid_allowed=True)
                if used >= item.budget_allowance_micros:
                    break
                store.spend.add([LeaseCharge("camp", store.lease.lease_id, IMPRESSION_MILLIMICROS)])
                store.events += 1
                store.unreported_micros += IMPRESSION_MILLIMICROS // 1000
            if online:
                billed += store.unreported_micros
                store.unreported_micros = 0
        outstanding = sum(s.lease.allowance_micros for s in stores if s.unreported_micros and s.lease is not None)
        worst = max(worst, billed - budget_micros - outstanding)
        max_over = max(max_over, billed - budget_micros)
    return Outcome(budget_micros, billed, worst, max_over)


def stores_with_outages() -> list[Store]:
    return [
        Store("s1", demand_per_minute=40, offline=[(10, 22)]),
        Store("s2", demand_per_minute=25, offline=[(30, 36), (44, 52)]),  # offline across the flight's end
        Store("s3", demand_per_minute=15, offline=[]),
        Store("s4", demand_per_minute=60, offline=[(1, 5), (47, 48)]),
    ]


def test_billed_spend_never_exceeds_budget_by_more_than_outstanding_allowances() -> None:
    """At every minute, billed spend <= budget + allowances of leases whose spend is not yet uploaded."""
    outcome = simulate(stores_with_outages(), 50_000_000, flight_hours=48, size=leases(LeaseSettings()))
    assert outcome.worst_excess_over_outstanding_micros <= 0


def test_default_settings_overspend_less_than_one_percent() -> None:
    """With the default lease settings, hours-long outages overspend by less than 1% of the budget."""
    outcome = simulate(stores_with_outages(), 50_000_000, flight_hours=48, size=leases(LeaseSettings()))
    assert outcome.max_overspend_micros < outcome.budget_micros // 100
    # The budget is actually the binding constraint here: nearly all of it is spent.
    assert outcome.billed_micros > outcome.budget_micros * 0.9


def test_without_leases_an_offline_store_would_overspend() -> None:
    """Control: if each store could spend all that remains, the same outages overspend by far more than 1%."""
    outcome = simulate(stores_with_outages(), 50_000_000, flight_hours=48, size=whole_remaining_budget)
    assert outcome.max_overspend_micros > outcome.budget_micros // 100
