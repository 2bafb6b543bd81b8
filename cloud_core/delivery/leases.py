"""Budget leases: how much each store may spend on a line item before it hears from the cloud. Pure.

Time is cut into lease windows of ``lease_period_s``. For window k, a store's allowance for a
campaign is the campaign's remaining budget, times the share of the remaining flight that one
window is (even pacing), times the store's share of traffic among the stores the campaign serves.
Every line item of the campaign carries it; the edge compares it with the campaign's local spend.
The lease id names the window, so every recompile inside a window refines the same lease (the edge
keeps counting its spend), and the next window starts a fresh one. A lease stays valid for a
grace period after its window, so the next index can arrive before the edge has to stop.

Why the bound holds: inside one window the remaining budget only falls, so every allowance a store
sees is at most its first one, and the first ones of all stores add up to at most the remaining
budget (shares sum to one, the pacing fraction is at most one). An offline edge stops when its
lease expires, so the only spend the cloud did not know about when it sized a window is spend under
leases whose events have not been uploaded yet: billed spend never exceeds the budget by more than
those outstanding allowances. ``tests/integration/test_billing_lease_simulation.py`` replays it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cartads.time_units import US_PER_S


@dataclass(frozen=True)
class LeaseSettings:
    """Lease sizing; units in the names."""

    lease_period_s: int = 900
    # A lease outlives its window by this much, so an edge keeps serving until the next index arrives.
    lease_grace_s: int = 180
    # Added to every store's event count, so a store with no history still gets a share.
    traffic_prior_events: float = 100.0
    # How far back event counts per store are summed for the traffic shares.
    traffic_lookback_s: int = 24 * 3600


@dataclass(frozen=True)
class StoreTraffic:
    """Recent events per store, and every store that exists (stores without events count as 0)."""

    event_counts: Mapping[str, int] = field(default_factory=dict)
    store_ids: frozenset[str] = frozenset()
    # Sums already taken per set of stores: every campaign of a store's compile asks for the same few
    # sets (every store, or a campaign's targeted ones), and a set may hold hundreds of stores.
    _sums: dict[frozenset[str], int] = field(default_factory=dict, compare=False, repr=False)

    def events_in(self, stores: frozenset[str]) -> int:
        """Recent events over ``stores``."""
        total = self._sums.get(stores)
        if total is None:
            total = self._sums[stores] = sum(self.event_counts.get(s, 0) for s in stores)
        return total


@dataclass(frozen=True)
class Lease:
    """One store's allowance for one campaign during one window."""

    lease_id: str
    allowance_micros: int
    expire_us: int


def lease_window(now_us: int, lease_period_s: int) -> tuple[int, int, int]:
    """(window number, window start, window end) of the window holding ``now_us``."""
    period_us = lease_period_s * US_PER_S
    number = now_us // period_us
    return number, number * period_us, (number + 1) * period_us


def pacing_fraction(window_start_us: int, lease_period_s: int, flight_end_us: int) -> float:
    """Even pacing: the part of the remaining flight one window is (1 in the flight's last window)."""
    period_us = lease_period_s * US_PER_S
    remaining_us = flight_end_us - window_start_us
    if remaining_us <= period_us:
        return 1.0
    return period_us / remaining_us


def store_share(store_id: str, eligible_store_ids: frozenset[str], traffic: StoreTraffic, prior: float) -> float:
    """This store's share of the traffic among the stores the line item can serve in.

    Equal shares without data; smoothed by ``prior`` so a new or quiet store is never shut out.
    """
    stores = eligible_store_ids if store_id in eligible_store_ids else eligible_store_ids | {store_id}
    if not stores:
        return 1.0
    total = traffic.events_in(stores) + prior * len(stores)
    if total <= 0:
        return 1.0 / len(stores)
    return (traffic.event_counts.get(store_id, 0) + prior) / total


def eligible_stores(targeted_store_ids: frozenset[str], traffic: StoreTraffic) -> frozenset[str]:
    """The stores a campaign serves in: those its line items target, or every store."""
    return targeted_store_ids or traffic.store_ids


def lease_for(
    *,
    store_id: str,
    remaining_budget_micros: int,
    flight_end_us: int,
    targeted_store_ids: frozenset[str],
    now_us: int,
    settings: LeaseSettings,
    traffic: StoreTraffic,
    fraction: float | None = None,
) -> Lease:
    """The lease for one store and campaign at ``now_us``.

    ``fraction`` is the part of the remaining budget the window may spend (at most 1): given by
    the campaign's pacing (cloud_core/delivery/pacing.py), flat even pacing over the flight when None.
    """
    number, start_us, end_us = lease_window(now_us, settings.lease_period_s)
    share = store_share(store_id, eligible_stores(targeted_store_ids, traffic), traffic, settings.traffic_prior_events)
    if fraction is None:
        fraction = pacing_fraction(start_us, settings.lease_period_s, flight_end_us)
    fraction = min(1.0, max(0.0, fraction))
    allowance = int(max(0, remaining_budget_micros) * fraction * share)
    return Lease(
        lease_id=f"{settings.lease_period_s}s-{number}",
        allowance_micros=allowance,
        expire_us=end_us + settings.lease_grace_s * US_PER_S,
    )
