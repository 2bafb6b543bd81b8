"""Delivery status: why a campaign or line item is (not) delivering, in numbers and plain words. Pure.

The shell (cloud_core/admin/delivery) gathers, per store, what the cloud knows now: the pacing plan
of today (the store's part of the day's budget, what was planned by now, what was spent since the
store's local midnight, the pass-through rate: cloud_core/delivery/pacing.py), the budget lease the
store's index carries (its allowance and expiry, cloud_core/delivery/leases.py) with the spend the
cloud has seen under it, and the edges' request counts of the last hour (ads served and requests
pacing held back, per line item; requests without any ad by no-fill reason, per store). This module
turns them into a state, the leading reasons (the ones that cost the most requests first) and a
one-line summary such as "budget allowance used up at store-1 until 14:15".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

# The state's words, from the plan: within ±20% of what was planned by now is on plan.
ON_PLAN_TOLERANCE = 0.2
NOT_DELIVERING = "not delivering"
BEHIND = "behind plan"
AHEAD = "ahead of plan"
ON_PLAN = "on plan"
DELIVERING = "delivering (no daily plan)"

# Reason codes, in the order ties are broken (the one a buyer can act on first).
ALLOWANCE_USED_UP = "BUDGET_ALLOWANCE_USED_UP"
DAILY_PLAN_SPENT = "DAILY_PLAN_SPENT"
NOT_SERVING = "NOT_SERVING"
THROTTLED = "THROTTLED"
NO_FILL = "NO_FILL"
_SEVERITY = {ALLOWANCE_USED_UP: 0, DAILY_PLAN_SPENT: 1, NOT_SERVING: 2, THROTTLED: 3, NO_FILL: 4}

# What each no-fill reason (NoFillReason without its prefix) means, for a buyer.
NO_FILL_WORDS = {
    "NO_INDEX": "the edge held no index",
    "NO_CANDIDATES": "no line item targets what the trip showed",
    "FREQUENCY_CAPPED": "frequency caps reached",
    "NOT_ELIGIBLE": "no line item eligible",
    "TRIP_CAP": "the trip's ad cap reached",
    "NO_SLOTS": "no slot to fill",
    "OUT_OF_SCHEDULE": "outside flight dates or dayparting",
    "BUDGET_EXHAUSTED": "budget allowances used up",
    "AD_INTERVAL": "too soon after the last ad",
    "IN_BASKET": "the promoted product already in the basket",
    "BELOW_RESERVE": "bids below the reserve price",
    "PAUSED": "paused",
    "THROTTLED": "held back by pacing",
    "EXPERIMENT_HOLDOUT": "the trip is in an experiment's holdout",
}


@dataclass(frozen=True, slots=True)
class StoreFacts:
    """What the cloud knows about one store's delivery of the campaign or line item now."""

    store_id: str
    tz: tzinfo = UTC
    # Whether some line item of it is in the store's index now (live, in flight, not done today).
    in_index: bool = False
    # Today's plan in this store (0: no daily limit), planned by now, spent since local midnight.
    plan_today_micros: int = 0
    planned_by_now_micros: int = 0
    spend_today_micros: int = 0
    # The pass-through rate the store's edge applies now (1: never held back).
    pacing_rate: float = 1.0
    # The budget lease in the store's index: allowance, expiry, and the spend seen under it.
    lease_allowance_micros: int = 0
    lease_expire_us: int = 0
    lease_spent_micros: int = 0
    # The last hour, from the edges' request counts.
    ads_last_hour: int = 0
    throttled_last_hour: int = 0
    requests_last_hour: int = 0
    # Requests of the store that got no ad at all, by no-fill reason name (store-wide).
    no_fills_last_hour: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason, with the requests of the last hour it cost when counted (0 when not)."""

    code: str
    store_id: str
    requests: int
    text: str


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """The status of one campaign or line item over its stores."""

    state: str
    spend_today_micros: int
    plan_today_micros: int
    planned_by_now_micros: int
    # The stores' pass-through rates weighted by their plans (plain mean without plans).
    pacing_rate: float
    reasons: tuple[Reason, ...]
    summary: str


def dollars(micros: int | float) -> str:
    """``1_720_000`` → ``$1.72``; below a cent, to the hundredth of a cent (``360`` → ``$0.0004``)."""
    if 0 < abs(micros) < 10_000:
        return f"${micros / 1e6:.4f}"
    return f"${micros / 1e6:,.2f}"


def _clock(us: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(us / 1e6, tz).strftime("%H:%M")


def store_reasons(s: StoreFacts, now_us: int) -> list[Reason]:
    """The reasons one store is held back, in plain words."""
    out: list[Reason] = []
    if not s.in_index:
        if s.plan_today_micros > 0 and s.spend_today_micros >= s.plan_today_micros:
            text = (
                f"today's plan at {s.store_id} spent ({dollars(s.spend_today_micros)} of"
                f" {dollars(s.plan_today_micros)}) until local midnight"
            )
            out.append(Reason(DAILY_PLAN_SPENT, s.store_id, 0, text))
        else:
            text = f"not serving at {s.store_id} (paused, outside its flight, or out of budget)"
            out.append(Reason(NOT_SERVING, s.store_id, 0, text))
        return out
    if s.lease_expire_us > now_us and s.lease_spent_micros >= s.lease_allowance_micros:
        used_up = s.no_fills_last_hour.get("BUDGET_EXHAUSTED", 0)
        text = f"budget allowance used up at {s.store_id} until {_clock(s.lease_expire_us, s.tz)}"
        out.append(Reason(ALLOWANCE_USED_UP, s.store_id, used_up, text))
    if s.throttled_last_hour > 0:
        text = (
            f"pacing held it back from {s.throttled_last_hour:,} eligible requests at {s.store_id} in the last"
            f" hour (pass-through rate {s.pacing_rate:.0%})"
        )
        out.append(Reason(THROTTLED, s.store_id, s.throttled_last_hour, text))
    no_fills = {k: n for k, n in s.no_fills_last_hour.items() if n > 0}
    if no_fills:
        top, n = max(no_fills.items(), key=lambda kv: (kv[1], kv[0]))
        total = sum(no_fills.values())
        of = f" of {s.requests_last_hour:,}" if s.requests_last_hour >= total else ""
        text = (
            f"{total:,}{of} requests at {s.store_id} got no ad in the last hour, most often"
            f" {NO_FILL_WORDS.get(top, top.lower().replace('_', ' '))} ({n:,})"
        )
        out.append(Reason(NO_FILL, s.store_id, total, text))
    return out


def _state(stores: Sequence[StoreFacts], plan: int, planned: int, spent: int) -> str:
    if not any(s.in_index for s in stores):
        return NOT_DELIVERING
    if plan <= 0:
        return DELIVERING
    if planned <= 0:
        return ON_PLAN if spent <= 0 else AHEAD
    ratio = spent / planned
    if ratio < 1 - ON_PLAN_TOLERANCE:
        return BEHIND
    if ratio > 1 + ON_PLAN_TOLERANCE:
        return AHEAD
    return ON_PLAN


def _rate(stores: Sequence[StoreFacts]) -> float:
    serving = [s for s in stores if s.in_index]
    if not serving:
        return 0.0
    weight = sum(s.plan_today_micros for s in serving)
    if weight > 0:
        return sum(s.pacing_rate * s.plan_today_micros for s in serving) / weight
    return sum(s.pacing_rate for s in serving) / len(serving)


def delivery_status(stores: Sequence[StoreFacts], now_us: int, max_reasons: int = 5) -> DeliveryStatus:
    """The status over ``stores``: totals, state, the leading ``max_reasons`` reasons and a summary."""
    plan = sum(s.plan_today_micros for s in stores)
    planned = sum(s.planned_by_now_micros for s in stores)
    spent = sum(s.spend_today_micros for s in stores)
    state = _state(stores, plan, planned, spent)
    reasons = sorted(
        (r for s in stores for r in store_reasons(s, now_us)),
        key=lambda r: (-r.requests, _SEVERITY[r.code], r.store_id),
    )[:max_reasons]
    if plan > 0:
        head = f"Spent {dollars(spent)} today of a {dollars(plan)} plan ({dollars(planned)} planned by now): {state}."
    elif not stores:
        head = "Not in any store."
    else:
        head = f"Spent {dollars(spent)} today: {state}."
    summary = f"{head} Leading reason: {reasons[0].text}." if reasons else head
    return DeliveryStatus(state, spent, plan, planned, _rate(stores), tuple(reasons), summary)
