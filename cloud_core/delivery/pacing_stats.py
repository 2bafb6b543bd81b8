"""What a store's compile reads and writes for pacing and predictions, as plain values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cloud_core.delivery.pacing import ControllerState
from cloud_core.delivery.predictions import Outcomes


@dataclass(frozen=True)
class PacingStats:
    """Everything one store's compile reads for pacing and predictions, from one snapshot."""

    # UTC hour start (µs) -> this store's GetAds requests, over the profile lookback.
    requests_by_hour: Mapping[int, int] = field(default_factory=dict)
    # Store id -> requests over the traffic lookback (each store's share of a campaign's traffic).
    requests_by_store: Mapping[str, int] = field(default_factory=dict)
    # This store's spend per line item, and every store's per campaign, since ``since_us``.
    line_item_spend_today_micros: Mapping[str, int] = field(default_factory=dict)
    campaign_spend_today_micros: Mapping[str, int] = field(default_factory=dict)
    states: Mapping[str, ControllerState] = field(default_factory=dict)
    # Line item id -> trigger -> billed outcomes over the prediction lookback, every store.
    outcomes: Mapping[str, Mapping[int, Outcomes]] = field(default_factory=dict)


@dataclass(frozen=True)
class PacingStatsQuery:
    """Which windows a load of PacingStats reads (µs since the epoch)."""

    store_id: str
    # Start of the store's local day: spend "today" counts from the UTC hour holding it.
    day_start_us: int
    profile_since_us: int
    traffic_since_us: int
    outcomes_since_us: int


@dataclass(frozen=True)
class PacingStatesSave:
    """One store's stepped controller states and the states they were stepped from."""

    store_id: str
    stepped: Mapping[str, ControllerState]
    previous: Mapping[str, ControllerState]
