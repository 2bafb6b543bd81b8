"""The compile's delivery inputs over an in-memory store: traffic source, learned profile, saved steps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pytest

from cartads.time_units import dt_to_us
from cartads.v1 import admin_pb2
from cartads.v1.request_counts_pb2 import RequestCounts
from cloud_core.compile.compiler import CompileSettings
from cloud_core.compile.store_inputs import delivery_inputs
from cloud_core.delivery.pacing import ControllerState
from cloud_core.delivery.pacing_stats import PacingStatesSave, PacingStats, PacingStatsQuery
from cloud_core.delivery.predictions import Outcomes
from cloud_core.delivery.traffic_profile import GROCERY_PRIOR
from cloud_core.storage.protocol import StoreView
from tests.cloud_core.helpers import campaign, line_item

NOW = datetime(2026, 3, 10, 15, tzinfo=UTC)
HOUR_US = 3600 * 1_000_000


class FakeStore:
    """PacingStats as given; records what was saved."""

    def __init__(self, stats: PacingStats, events: Mapping[str, int] | None = None) -> None:
        self.stats = stats
        self.events = dict(events or {})
        self.saved: list[tuple[str, Mapping[str, ControllerState]]] = []

    async def load_pacing_stats(self, query: PacingStatsQuery) -> PacingStats:
        return self.stats

    async def save_pacing_states(
        self, store_id: str, stepped: Mapping[str, ControllerState], previous: Mapping[str, ControllerState]
    ) -> int:
        self.saved.append((store_id, stepped))
        return len(stepped)

    async def record_request_counts(
        self, store_id: str, edge_id: str, records: Sequence[tuple[str, RequestCounts]]
    ) -> int:
        raise AssertionError("not used")

    async def save_pacing_states_many(self, saves: Sequence[PacingStatesSave]) -> int:
        raise AssertionError("not used")

    async def store_traffic(self, since_us: int) -> dict[str, int]:
        return self.events

    async def store_ids(self) -> frozenset[str]:
        return frozenset({"s1", "s2"})


def view() -> StoreView:
    return StoreView(
        store=admin_pb2.Store(store_id="s1", time_zone="UTC"),
        signing_key=b"k",
        aisles=(),
        departments=(),
        products=(),
        campaigns=(campaign(),),
        line_items=(line_item(),),
        creatives=(),
        campaign_spend_micros={},
    )


async def test_request_counts_shape_the_profile_and_the_shares() -> None:
    """Requests at 10:00 make hour 10 the busiest; stores' request counts give the traffic shares."""
    day = dt_to_us(datetime(2026, 3, 9, 10, tzinfo=UTC))
    store = FakeStore(PacingStats(requests_by_hour={day: 100_000}, requests_by_store={"s1": 300, "s2": 100}))
    out = await delivery_inputs(store, view(), CompileSettings(), dt_to_us(NOW))
    assert max(range(24), key=lambda h: out.profile[h]) == 10
    assert out.traffic.event_counts == {"s1": 300, "s2": 100}


async def test_without_request_counts_events_and_the_prior_are_used() -> None:
    """Before any edge uploads counts, traffic shares come from events and the profile is the prior."""
    out = await delivery_inputs(FakeStore(PacingStats(), {"s1": 5}), view(), CompileSettings(), dt_to_us(NOW))
    assert out.traffic.event_counts == {"s1": 5}
    assert out.profile == pytest.approx(GROCERY_PRIOR)


async def test_stepped_states_are_saved_and_outcomes_predicted() -> None:
    """The controller's new state is persisted for the store; outcomes become learned rates."""
    stats = PacingStats(outcomes={"li1": {2: Outcomes(1000, 50, 0)}})
    store = FakeStore(stats)
    out = await delivery_inputs(store, view(), CompileSettings(), dt_to_us(NOW))
    assert [(sid, sorted(stepped)) for sid, stepped in store.saved] == [("s1", ["campaign:c1"])]
    assert out.pacing.rates == {"li1": 1.0}
    # 50 clicks in 1,000 impressions, smoothed by the default prior of 1% weighted as 200 impressions.
    assert out.predictions["li1"].ctr == pytest.approx((50 + 2) / 1_200)
