"""What one store's compile needs beyond its view: traffic, pacing and learned rates.

The shell around the pure cores (traffic_profile, pacing, predictions): reads one snapshot of the
statistics (storage/pacing_stats.py), steps the pacing controller, persists the stepped states
(compare-and-set, so replicas step a rate once), and hands the compiler plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import structlog

from cartads.store_time import store_zone
from cartads.time_units import DAY_US, US_PER_S
from cloud_core.compile.compiler import CompileSettings
from cloud_core.compile.templates import SharedCompile, campaign_store_targets
from cloud_core.delivery.leases import StoreTraffic, eligible_stores, store_share
from cloud_core.delivery.pacing import ControllerState, StorePacing, StorePacingInput, plan_store
from cloud_core.delivery.pacing_stats import PacingStatsQuery
from cloud_core.delivery.predictions import Prediction, predict_all
from cloud_core.delivery.traffic_profile import GROCERY_PRIOR, hourly_profile, local_day, requests_by_local_hour
from cloud_core.storage.protocol import PacingStatsStore, StoreView

_log = structlog.get_logger("cloud.pacing")


class EventTraffic(Protocol):
    """Events per store since a time: the traffic measure before edges upload request counts."""

    async def store_traffic(self, since_us: int) -> dict[str, int]: ...
    async def store_ids(self) -> frozenset[str]: ...


class DeliveryStore(PacingStatsStore, EventTraffic, Protocol):
    """The storage the delivery inputs read and write."""


@dataclass(frozen=True)
class DeliveryInputs:
    """Plain values for CompileInput's traffic, pacing, traffic_profile and predictions."""

    traffic: StoreTraffic
    pacing: StorePacing
    profile: tuple[float, ...]
    predictions: dict[str, Prediction]
    # The controller states ``pacing.stepped`` was stepped from (what a deferred save compares with).
    previous_states: Mapping[str, ControllerState]


async def delivery_inputs(
    store: DeliveryStore,
    view: StoreView,
    settings: CompileSettings,
    now_us: int,
    *,
    shared: SharedCompile | None = None,
    save: bool = True,
) -> DeliveryInputs:
    """Traffic shares, the store's profile, stepped pacing and learned rates at ``now_us``.

    ``shared``: prepare_shared of the view's rows, when already derived (a batch of stores).
    ``save=False`` leaves persisting the stepped states to the caller (a batch saves all stores' at once).
    """
    store_id = view.store.store_id
    tz = store_zone(view.store.time_zone)
    day_start_us, _ = local_day(now_us, tz)
    lookback_us = settings.lease.traffic_lookback_s * US_PER_S
    stats = await store.load_pacing_stats(
        PacingStatsQuery(
            store_id=store_id,
            day_start_us=day_start_us,
            profile_since_us=now_us - settings.pacing.profile_lookback_days * DAY_US,
            traffic_since_us=now_us - lookback_us,
            outcomes_since_us=now_us - settings.predictions.lookback_days * DAY_US,
        )
    )
    store_ids = await store.store_ids()
    # Request counts measure a store's traffic best; until any edge uploads them, events do.
    if any(stats.requests_by_store.values()):
        traffic = StoreTraffic(stats.requests_by_store, store_ids)
    else:
        traffic = StoreTraffic(await store.store_traffic(now_us - lookback_us), store_ids)
    profile = hourly_profile(
        requests_by_local_hour(stats.requests_by_hour, tz), GROCERY_PRIOR, settings.pacing.profile_prior_requests
    )
    if shared is not None and not (shared.line_items is view.line_items and shared.campaigns is view.campaigns):
        shared = None  # derived from other rows
    targets = shared.targets if shared is not None else campaign_store_targets(view.line_items)
    shares = {
        cid: store_share(store_id, eligible_stores(stores, traffic), traffic, settings.lease.traffic_prior_events)
        for cid, stores in targets.items()
    }
    pacing = plan_store(
        StorePacingInput(
            now_us=now_us,
            tz=tz,
            profile=profile,
            line_items=view.line_items,
            campaigns={c.campaign_id: c for c in view.campaigns},
            store_share=shares,
            campaign_spend_micros=view.campaign_spend_micros,
            campaign_spend_today_micros=stats.campaign_spend_today_micros,
            line_item_spend_today_micros=stats.line_item_spend_today_micros,
            states=stats.states,
            groups=shared.pacing_groups if shared is not None else None,
        ),
        settings.pacing,
    )
    if save:
        await store.save_pacing_states(store_id, pacing.stepped, stats.states)
    # One line per compile at INFO (a store has hundreds of keys); each key's step at DEBUG.
    _log.info("pacing_steps", store_id=store_id, keys=len(pacing.plans), stepped=len(pacing.stepped))
    for plan in pacing.plans:
        if plan.key in pacing.stepped:
            _log.debug(
                "pacing_step",
                store_id=store_id,
                key=plan.key,
                pacing=plan.pacing_type.name,
                rate=round(plan.rate, 4),
                spent_today_micros=plan.spent_micros,
                planned_by_now_micros=int(plan.planned_micros),
                today_target_micros=plan.target_micros,
            )
    return DeliveryInputs(traffic, pacing, profile, predict_all(stats.outcomes, settings.predictions), stats.states)
