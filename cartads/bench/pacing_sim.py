"""A replayed store day for budget pacing. Pure and deterministic (one seeded random source).

Minute by minute through one local day, carts ask for ads at a rate that follows an hourly traffic
curve. The pieces are the real ones: the cloud's pacing controller (cloud_core/delivery/pacing.py) steps
from the spend it has received (events arrive ``upload_lag_s`` late), the real compiler ships its
rates and leases in an index every ``compile_interval_s`` (as the cloud does for a connected
store), and the edge's real selection (throttle, budget lease, second-price auction) serves each
request from that index. The auction's stand-in competition is a second, unpaced line item with a
lower bid, so the paced line item wins whenever it is not throttled and pays the rival's price.

The store's traffic profile is learned, as in the cloud, from the previous day's request counts
(a flat prior, so the curve the controller follows comes from the counts alone).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from cartads.store_time import store_zone
from cartads.time_units import US_PER_S, us_to_ts
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.compile.compiler import CompileInput, CompileSettings, compile_store_index
from cloud_core.delivery.pacing import ControllerState, PacingSettings, StorePacingInput, plan_store
from cloud_core.delivery.traffic_profile import HOURS, hourly_profile, local_hour
from edge_node.index.view import ServingView, build_view
from edge_node.serving.selection import AdRequest, select_ads

_PACED, _RIVAL = "li-paced", "li-rival"


@dataclass(frozen=True)
class PacingSimConfig:
    """One replayed day; money in micros."""

    # Relative requests per local hour (e.g. Instacart orders per order_hour_of_day).
    hourly_weights: Sequence[float]
    pacing_type: int = admin_pb2.PACING_TYPE_EVEN
    requests_per_day: int = 30_000
    daily_budget_micros: int = 20_000_000
    bid_cpm_micros: int = 4_000_000
    rival_cpm_micros: int = 2_000_000
    time_zone: str = "America/Chicago"
    day: date = date(2026, 3, 10)
    seed: int = 7
    upload_lag_s: int = 30
    compile_interval_s: int = 60
    pacing: PacingSettings = field(default_factory=PacingSettings)


@dataclass(frozen=True)
class PacingSimResult:
    """What the paced line item spent, hour by hour (local), against the requests of each hour."""

    daily_budget_micros: int
    hourly_spend_micros: tuple[int, ...]
    hourly_requests: tuple[int, ...]
    # Local hour in which the day's spend reached 99% of the daily budget; None if it never did.
    spent_out_hour: int | None
    index_versions: int

    @property
    def daily_spend_micros(self) -> int:
        """The whole day's spend."""
        return sum(self.hourly_spend_micros)

    @property
    def daily_spend_error(self) -> float:
        """|spend - budget| / budget."""
        return abs(self.daily_spend_micros - self.daily_budget_micros) / self.daily_budget_micros

    @property
    def traffic_correlation(self) -> float:
        """Pearson correlation of hourly spend with hourly requests."""
        return correlation(self.hourly_spend_micros, self.hourly_requests)

    @property
    def max_hour_share_error(self) -> float:
        """Largest |share of the day's spend - share of the day's requests| over the hours."""
        spend, requests = sum(self.hourly_spend_micros) or 1, sum(self.hourly_requests) or 1
        return max(
            abs(s / spend - r / requests) for s, r in zip(self.hourly_spend_micros, self.hourly_requests, strict=True)
        )


def correlation(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson's r; 0 when either side does not vary."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else 0.0


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth; the rates here are at most a few hundred per minute)."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _catalog(cfg: PacingSimConfig, day_start_us: int) -> tuple[list[admin_pb2.Campaign], list[admin_pb2.LineItem]]:
    # A month-long flight around the day, with a budget that does not bind before the daily one.
    start, end = us_to_ts(day_start_us - 10 * 86_400 * US_PER_S), us_to_ts(day_start_us + 20 * 86_400 * US_PER_S)
    active = admin_pb2.SERVING_STATE_ACTIVE
    campaigns = [
        admin_pb2.Campaign(
            campaign_id=cid,
            advertiser_id="adv",
            start_time=start,
            end_time=end,
            budget_micros=budget,
            state=active,
        )
        for cid, budget in (("c-paced", 60 * cfg.daily_budget_micros), ("c-rival", 10**15))
    ]

    def item(lid: str, cid: str, bid: int, pacing: int, daily: int) -> admin_pb2.LineItem:
        return admin_pb2.LineItem(
            line_item_id=lid,
            campaign_id=cid,
            pricing_model=common_pb2.PRICING_MODEL_CPM,
            bid_micros=bid,
            creative_ids=[f"cr-{lid}"],
            state=active,
            pacing_type=pacing,  # type: ignore[arg-type]
            daily_budget_micros=daily,
        )

    line_items = [
        item(_PACED, "c-paced", cfg.bid_cpm_micros, cfg.pacing_type, cfg.daily_budget_micros),
        item(_RIVAL, "c-rival", cfg.rival_cpm_micros, admin_pb2.PACING_TYPE_ASAP, 0),
    ]
    return campaigns, line_items


def _requests_per_minute(cfg: PacingSimConfig) -> list[float]:
    total = sum(cfg.hourly_weights)
    return [cfg.requests_per_day * cfg.hourly_weights[h] / total / 60 for h in range(HOURS)]


def simulate_day(cfg: PacingSimConfig) -> PacingSimResult:
    """Replay one local day; see the module docstring."""
    rng = random.Random(cfg.seed)
    tz = store_zone(cfg.time_zone)
    day_start = datetime(cfg.day.year, cfg.day.month, cfg.day.day, tzinfo=tz)
    day_start_us = round(day_start.timestamp() * US_PER_S)
    day_end_us = round(datetime.combine(cfg.day + timedelta(days=1), day_start.timetz()).timestamp() * US_PER_S)
    per_minute = _requests_per_minute(cfg)
    # Yesterday's request counts, as the edges would have uploaded them: today's profile.
    yesterday = {h: sum(_poisson(rng, per_minute[h]) for _ in range(60)) for h in range(HOURS)}
    profile = hourly_profile(yesterday, prior=[1.0] * HOURS, prior_requests=cfg.pacing.profile_prior_requests)
    campaigns, line_items = _catalog(cfg, day_start_us)
    store = admin_pb2.Store(store_id="s1", display_name="Sim Market", time_zone=cfg.time_zone)
    creatives = [
        admin_pb2.CreativeSpec(
            creative_id=f"cr-{li.line_item_id}",
            advertiser_id="adv",
            headline="h",
            review_status=admin_pb2.CREATIVE_REVIEW_STATUS_APPROVED,
        )
        for li in line_items
    ]
    settings = CompileSettings(pacing=cfg.pacing)
    before_today = 10 * cfg.daily_budget_micros  # the flight's first ten days, spent as planned
    states: dict[str, ControllerState] = {}
    spend_log: list[tuple[int, int]] = []  # (time µs, millimicros) of the paced line item
    lease_spend: dict[tuple[str, str], int] = {}
    hourly_spend = [0] * HOURS
    hourly_requests = [0] * HOURS
    versions: set[str] = set()
    view: ServingView | None = None
    next_compile_us = day_start_us
    now_us = day_start_us
    while now_us < day_end_us:
        if now_us >= next_compile_us:
            seen = sum(mm for t, mm in spend_log if t <= now_us - cfg.upload_lag_s * US_PER_S) // 1000
            pacing = plan_store(
                StorePacingInput(
                    now_us=now_us,
                    tz=tz,
                    profile=profile,
                    line_items=line_items,
                    campaigns={c.campaign_id: c for c in campaigns},
                    store_share={},
                    campaign_spend_micros={"c-paced": before_today + seen},
                    campaign_spend_today_micros={"c-paced": seen},
                    line_item_spend_today_micros={_PACED: seen},
                    states=states,
                ),
                cfg.pacing,
            )
            states.update(pacing.stepped)
            index = compile_store_index(
                CompileInput(
                    store=store,
                    signing_key=b"k" * 32,
                    aisles=(),
                    departments=(),
                    products=(),
                    campaigns=campaigns,
                    line_items=line_items,
                    creatives=creatives,
                    campaign_spend_micros={"c-paced": before_today + seen},
                    pacing=pacing,
                    traffic_profile=profile,
                ),
                settings,
                datetime.fromtimestamp(now_us / US_PER_S, tz),
            )
            versions.add(index.version)
            view = build_view(index)
            next_compile_us += cfg.compile_interval_s * US_PER_S
        hour = local_hour(now_us, tz)
        arrivals = sorted(now_us + int(rng.random() * 60 * US_PER_S) for _ in range(_poisson(rng, per_minute[hour])))
        for t in arrivals:
            hourly_requests[hour] += 1
            assert view is not None
            spend = {
                lid: lease_spend.get((li.campaign_id, li.budget_lease_id), 0) // 1000
                for lid, li in view.line_items.items()
            }
            decision = select_ads(
                view, AdRequest(trigger=common_pb2.TRIGGER_SCAN), spend_micros=spend, now_unix_ms=t // 1000, rng=rng
            )
            for ad in decision.ads:
                # Every ad is seen: a CPM impression costs price / 1000 (counted in millimicros).
                key = (ad.line_item.campaign_id, ad.line_item.budget_lease_id)
                lease_spend[key] = lease_spend.get(key, 0) + ad.price_micros
                if ad.line_item.line_item_id == _PACED:
                    spend_log.append((t, ad.price_micros))
                    hourly_spend[hour] += ad.price_micros
        now_us += 60 * US_PER_S
    return PacingSimResult(
        daily_budget_micros=cfg.daily_budget_micros,
        hourly_spend_micros=tuple(mm // 1000 for mm in hourly_spend),
        hourly_requests=tuple(hourly_requests),
        spent_out_hour=_spent_out_hour(spend_log, cfg.daily_budget_micros, tz),
        index_versions=len(versions),
    )


def _spent_out_hour(spend_log: Sequence[tuple[int, int]], budget_micros: int, tz: object) -> int | None:
    total = 0
    for t, mm in spend_log:
        total += mm
        if total >= budget_micros * 1000 * 0.99:
            return local_hour(t, tz)  # type: ignore[arg-type]
    return None
