"""Budget pacing by throttling (Agarwal et al., "Budget Pacing for Targeted Online Advertisements
at LinkedIn", KDD 2014). Pure.

Every EVEN line item has a plan for each store and local day: the day's budget times the store's
share of the line item's traffic, spent along the store's hourly traffic profile
(cloud_core/delivery/traffic_profile.py). Its pass-through rate — the probability that it takes part in a
request it is eligible for, applied by the edge — is adjusted every ``interval_s`` (a time slot):
multiplied by (1 - decrease) when the store spent more in the last slot than was allocated to it,
by (1 + increase) when less, clamped to [min_rate, max_rate]. As in the paper, each slot's
allocation is the budget still left today spread over the rest of the day along the profile, so
an early overspend shrinks later allocations and an underspend grows them, and the day ends on
budget without the oscillation a controller on the cumulative error shows. The rate is kept
(cloud table ``pacing_state``) across recompiles, restarts and days, so each day starts from what
the last one learned.

The day's budget is the line item's ``daily_budget_micros``, or, without one, the campaign's
budget left at the start of the day times the part of the remaining flight that today is (by
traffic weight). Line items without their own daily budget pace that campaign budget together
under one rate (key ``campaign:<id>``); one with its own daily budget paces alone.

Dayparted line items plan only along their hours (``key_profile``); weekday dayparting is not
planned for (such a day's budget rolls into the next through the derived daily budget).
ASAP line items are never throttled; with a daily budget they stop for the day once it is spent.
Any line item that has spent its store's part of today's budget is left out of today's index.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from functools import lru_cache

from cartads.time_units import US_PER_S, ts_to_us
from cartads.v1 import admin_pb2
from cloud_core.delivery.traffic_profile import local_day, normalized, weight_between


class PacingType(enum.IntEnum):
    """How a line item spends; values equal cartads.v1.PacingType (UNSPECIFIED paces EVEN)."""

    EVEN = admin_pb2.PACING_TYPE_EVEN
    ASAP = admin_pb2.PACING_TYPE_ASAP


def pacing_type_of(line_item: admin_pb2.LineItem) -> PacingType:
    """The line item's pacing; EVEN unless it asks for ASAP."""
    return PacingType.ASAP if line_item.pacing_type == admin_pb2.PACING_TYPE_ASAP else PacingType.EVEN


@dataclass(frozen=True)
class PacingSettings:
    """Controller tuning; units in the names."""

    # How often a rate may change. The cloud recompiles connected stores every index_refresh_s.
    interval_s: int = 120
    min_rate: float = 0.005
    max_rate: float = 1.0
    # A pacing key seen for the first time starts here.
    initial_rate: float = 1.0
    increase: float = 0.15
    decrease: float = 0.15
    # Spend within this fraction of the plan leaves the rate as it is.
    tolerance: float = 0.02
    # An EVEN campaign's lease window gets this multiple of its planned share of the remaining
    # budget: enough for the busiest window, while the throttle keeps the actual pace.
    allowance_headroom: float = 2.0
    # Weight of the typical grocery curve in a store's profile, in requests.
    profile_prior_requests: float = 2_000.0
    # How far back request counts make up a store's profile.
    profile_lookback_days: int = 14


@dataclass(frozen=True)
class ControllerState:
    """One pacing key's rate in one store, when it last stepped (µs), and the store's spend
    today at that moment with the start of that local day (so the next step sees the last slot)."""

    rate: float
    updated_us: int
    spent_micros: int = 0
    day_start_us: int = 0


def next_rate(rate: float, spent_micros: int, planned_micros: float, settings: PacingSettings) -> float:
    """One step of the throttle: slow down when ahead of the plan, speed up when behind."""
    if spent_micros > planned_micros * (1 + settings.tolerance):
        rate *= 1 - settings.decrease
    elif spent_micros < planned_micros * (1 - settings.tolerance):
        rate *= 1 + settings.increase
    return min(settings.max_rate, max(settings.min_rate, rate))


def pacing_key(line_item: admin_pb2.LineItem) -> str:
    """What a line item's rate and plan belong to: itself with its own daily budget, else its campaign."""
    if line_item.daily_budget_micros > 0 or pacing_type_of(line_item) == PacingType.ASAP:
        return line_item.line_item_id
    return f"campaign:{line_item.campaign_id}"


def derived_daily_budget_micros(
    *,
    campaign: admin_pb2.Campaign,
    spend_micros: int,
    spend_today_micros: int,
    now_us: int,
    profile: Sequence[float],
    tz: tzinfo,
) -> int:
    """The campaign's budget left at the start of today, times today's part of the remaining flight."""
    start_us, end_us = ts_to_us(campaign.start_time), ts_to_us(campaign.end_time)
    day_start, day_end = local_day(now_us, tz)
    span_start, span_end = max(day_start, start_us), min(day_end, end_us)
    if span_end <= span_start:
        return 0
    left_at_day_start = max(0, campaign.budget_micros - (spend_micros - spend_today_micros))
    rest = weight_between(span_start, end_us, profile, tz)
    if rest <= 0:
        return left_at_day_start
    return int(left_at_day_start * min(1.0, weight_between(span_start, span_end, profile, tz) / rest))


def planned_fraction(campaign: admin_pb2.Campaign, now_us: int, profile: Sequence[float], tz: tzinfo) -> float:
    """The part of today's plan due by ``now_us``: today's traffic so far within the flight."""
    day_start, day_end = local_day(now_us, tz)
    span_start = max(day_start, ts_to_us(campaign.start_time))
    span_end = min(day_end, ts_to_us(campaign.end_time))
    today = weight_between(span_start, span_end, profile, tz)
    if today <= 0:
        return 1.0
    return min(1.0, weight_between(span_start, min(now_us, span_end), profile, tz) / today)


def window_fraction(
    *,
    window_start_us: int,
    window_end_us: int,
    flight_end_us: int,
    profile: Sequence[float],
    tz: tzinfo,
    headroom: float,
) -> float:
    """An EVEN campaign's lease share of its remaining budget: the window's traffic weight in the
    remaining flight's, with headroom; 1 in the flight's last window. Replaces flat even pacing."""
    if flight_end_us <= window_end_us:
        return 1.0
    rest = weight_between(window_start_us, flight_end_us, profile, tz)
    if rest <= 0:
        return 1.0
    return min(1.0, headroom * weight_between(window_start_us, window_end_us, profile, tz) / rest)


@dataclass(frozen=True)
class StorePacingInput:
    """Plain values the pacing plan of one store reads."""

    now_us: int
    tz: tzinfo
    profile: Sequence[float]
    line_items: Sequence[admin_pb2.LineItem]
    campaigns: Mapping[str, admin_pb2.Campaign]
    # Campaign id -> this store's share of the campaign's traffic (cloud_core/leases.store_share).
    store_share: Mapping[str, float]
    # Campaign id -> spend over all stores: in total, and since this store's local midnight.
    campaign_spend_micros: Mapping[str, int]
    campaign_spend_today_micros: Mapping[str, int]
    # Line item id -> this store's spend since its local midnight.
    line_item_spend_today_micros: Mapping[str, int]
    # Pacing key -> its last state in this store.
    states: Mapping[str, ControllerState]
    # pacing_groups(line_items, campaigns), when already derived (the same for every store).
    groups: Mapping[str, Sequence[admin_pb2.LineItem]] | None = None


@dataclass(frozen=True)
class KeyPlan:
    """Where one pacing key stands in one store today."""

    key: str
    pacing_type: PacingType
    line_item_ids: tuple[str, ...]
    # This store's part of today's budget; 0 means no daily limit (ASAP without a daily budget).
    target_micros: int
    planned_micros: float
    spent_micros: int
    rate: float


@dataclass(frozen=True)
class StorePacing:
    """Pass-through rates per line item, line items done for today, and states to persist."""

    rates: Mapping[str, float]
    done_today: frozenset[str]
    # Only the keys whose rate was stepped now (unchanged states need no write).
    stepped: Mapping[str, ControllerState]
    plans: tuple[KeyPlan, ...] = ()


def key_profile(items: Sequence[admin_pb2.LineItem], profile: Sequence[float]) -> Sequence[float]:
    """The store's profile limited to the hours the key's line items serve (their dayparting), so
    no budget is planned for hours they cannot spend in; the whole profile when any serves all day."""
    if not items or any(not li.targeting.daypart_hours for li in items):
        return profile
    hours = {h for li in items for h in li.targeting.daypart_hours}
    masked = [w if h in hours else 0.0 for h, w in enumerate(profile)]
    return normalized(masked) if sum(masked) > 0 else profile


def _day_target(
    key_items: Sequence[admin_pb2.LineItem],
    campaign: admin_pb2.Campaign,
    inp: StorePacingInput,
    profile: Sequence[float],
) -> int:
    first = key_items[0]
    if first.daily_budget_micros > 0:
        return first.daily_budget_micros
    if pacing_type_of(first) == PacingType.ASAP:
        return 0
    return derived_daily_budget_micros(
        campaign=campaign,
        spend_micros=inp.campaign_spend_micros.get(campaign.campaign_id, 0),
        spend_today_micros=inp.campaign_spend_today_micros.get(campaign.campaign_id, 0),
        now_us=inp.now_us,
        profile=profile,
        tz=inp.tz,
    )


def _last_slot(
    state: ControllerState,
    campaign: admin_pb2.Campaign,
    *,
    target: int,
    spent: int,
    inp: StorePacingInput,
    profile: Sequence[float],
) -> tuple[int, float]:
    """(spent in the slot since the last step, what the slot was allocated when it began).

    The allocation is the budget left today at the slot's start, times the slot's part of the rest
    of today's traffic; a slot reaching back into yesterday starts at today's first moment.
    """
    day_start, day_end = local_day(inp.now_us, inp.tz)
    same_day = state.day_start_us == day_start
    span_start = max(day_start, ts_to_us(campaign.start_time))
    span_end = min(day_end, ts_to_us(campaign.end_time))
    slot_start = max(state.updated_us, span_start) if same_day else span_start
    before = state.spent_micros if same_day else 0
    rest = weight_between(slot_start, span_end, profile, inp.tz)
    if rest <= 0:
        return spent - before, 0.0
    share = weight_between(slot_start, min(inp.now_us, span_end), profile, inp.tz) / rest
    return spent - before, max(0, target - before) * share


def pacing_groups(
    line_items: Sequence[admin_pb2.LineItem], campaign_ids: Collection[str]
) -> dict[str, list[admin_pb2.LineItem]]:
    """The line items of known campaigns by pacing key, each group in line item id order."""
    groups: dict[str, list[admin_pb2.LineItem]] = {}
    for item in sorted(line_items, key=lambda li: li.line_item_id):
        if item.campaign_id in campaign_ids:
            groups.setdefault(pacing_key(item), []).append(item)
    return groups


def plan_store(inp: StorePacingInput, settings: PacingSettings) -> StorePacing:
    """Step every pacing key of the store's line items whose interval has passed; rates for all."""
    groups = inp.groups if inp.groups is not None else pacing_groups(inp.line_items, inp.campaigns)
    rates: dict[str, float] = {}
    done: set[str] = set()
    stepped: dict[str, ControllerState] = {}
    plans: list[KeyPlan] = []
    interval_us = settings.interval_s * US_PER_S
    for key, items in groups.items():
        campaign = inp.campaigns[items[0].campaign_id]
        kind = pacing_type_of(items[0])
        profile = key_profile(items, inp.profile)
        daily = _day_target(items, campaign, inp, profile)
        target = int(daily * inp.store_share.get(campaign.campaign_id, 1.0))
        spent = sum(inp.line_item_spend_today_micros.get(li.line_item_id, 0) for li in items)
        ids = tuple(li.line_item_id for li in items)
        if daily > 0 and spent >= target:
            done.update(ids)
        planned = target * planned_fraction(campaign, inp.now_us, profile, inp.tz)
        rate = 1.0
        if kind == PacingType.EVEN:
            state = inp.states.get(key)
            rate = state.rate if state is not None else settings.initial_rate
            if state is None or inp.now_us - state.updated_us >= interval_us:
                if state is not None:
                    slot_spent, allocated = _last_slot(
                        state, campaign, target=target, spent=spent, inp=inp, profile=profile
                    )
                    rate = next_rate(rate, slot_spent, allocated, settings)
                stepped[key] = ControllerState(rate, inp.now_us, spent, local_day(inp.now_us, inp.tz)[0])
        rates.update((i, rate) for i in ids)
        plans.append(KeyPlan(key, kind, ids, target, planned, spent, rate))
    return StorePacing(rates, frozenset(done), stepped, tuple(plans))


@lru_cache(maxsize=4096)
def shipped_rate(rate: float) -> float:
    """The rate as the index carries it: three significant digits, so noise does not churn versions."""
    return float(f"{rate:.3g}")
