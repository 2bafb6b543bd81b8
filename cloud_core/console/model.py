"""The operator console's pure core: plain rows in, the JSON the page draws out.

Storage reads rows (``console_reads``), this module shapes them: how long ago an edge was seen,
whether it serves the version the cloud last sent, and the cumulative spend of a campaign hour by
hour against its budget. No I/O and no clock: ``now_us`` is always passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cartads.time_units import HOUR_US, hour_start_us

# A chart wider than a month of hours says nothing more; older hours are carried into the first point.
DEFAULT_MAX_POINTS = 31 * 24

# An open index stream is the edge's heartbeat: the cloud pings it every few seconds and drops it when
# the edge stops answering (CloudConfig.keepalive, cartads/rpc/keepalive.py), so "connected" is
# current by itself and when the edge last sent something says nothing about its health. A dropped edge redials within
# seconds (its backoff tops out at 5 s): for this long after its stream ended it is reconnecting,
# after that it is offline and how long ago it was last heard from matters.
RECONNECT_GRACE_S = 60.0


@dataclass(frozen=True, slots=True)
class EdgeRow:
    """One edge's sync status as stored (times in microseconds since the epoch, 0 = never)."""

    store_id: str
    edge_id: str
    connected: bool
    applied_version: str
    current_version: str
    last_answer: str
    last_ack_time_us: int
    last_nack_time_us: int
    last_error: str
    last_nack_version: str
    last_seen_us: int
    # Set while the edge stands flagged for uploading charges the cloud never issued terms for.
    flagged: bool = False
    flag_reason: str = ""
    flag_count: int = 0


@dataclass(frozen=True, slots=True)
class CampaignTotals:
    """A campaign with its budget, flight and what it has delivered and spent over all stores."""

    campaign_id: str
    advertiser_id: str
    display_name: str
    budget_micros: int
    start_time_us: int
    end_time_us: int
    active: bool
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend_micros: int = 0
    # Impressions, clicks and conversions kept as invalid traffic (never billed).
    invalid_ad_events: int = 0
    # Ad plays (put on screen; never billed): with impressions, the campaign's viewability rate.
    plays: int = 0
    # Purchases at checkout credited to the campaign's ads: click-through, view-through, halo.
    ct_sales_units: int = 0
    ct_sales_micros: int = 0
    vt_sales_units: int = 0
    vt_sales_micros: int = 0
    halo_sales_units: int = 0
    halo_sales_micros: int = 0


@dataclass(frozen=True, slots=True)
class HourlySpend:
    """One hour of a campaign's rollups, summed over its line items and stores."""

    hour_start_us: int
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend_micros: int = 0


@dataclass(frozen=True, slots=True)
class CampaignHours:
    """A campaign's spend hour by hour from some hour on, and its spend in every hour before."""

    earlier_spend_micros: int
    hours: tuple[HourlySpend, ...]


@dataclass(frozen=True, slots=True)
class SpendPoint:
    """Spend in one hour and through its end, next to the budget and the even pace at that time."""

    hour_start_us: int
    spend_micros: int
    cumulative_spend_micros: int
    # What an even pace over the flight would have spent by the end of this hour.
    pace_micros: int


@dataclass(frozen=True, slots=True)
class SpendSeries:
    """Cumulative spend by hour for one campaign, gaps filled with zero-spend hours."""

    budget_micros: int
    points: tuple[SpendPoint, ...]
    # Spend in hours before the first point (the window keeps only the most recent hours).
    carried_spend_micros: int
    total_spend_micros: int
    # The first hour whose cumulative spend reached the budget, if one did (None as well when the
    # budget was already spent before the hours read: see ``exhausted_earlier``).
    exhausted_hour_us: int | None
    # The even pace at the start of the first point's hour, where the chart's pace line begins.
    start_pace_micros: int = 0
    # Spend before the hours read had already reached the budget.
    exhausted_earlier: bool = False


def _pace_micros(budget_micros: int, start_us: int, end_us: int, at_us: int) -> int:
    if end_us <= start_us:
        return budget_micros if at_us >= start_us else 0
    fraction = min(max(at_us - start_us, 0), end_us - start_us)
    return budget_micros * fraction // (end_us - start_us)


def window_start_us(*, flight_start_us: int, flight_end_us: int, now_us: int, max_points: int) -> int:
    """The first hour a series can show (later only if spend after its end moves the end); storage
    reads hours from here and sums everything earlier into one number."""
    first_flight_hour = hour_start_us(flight_start_us)
    last_flight_hour = hour_start_us(max(flight_end_us - 1, flight_start_us))
    end = max(min(hour_start_us(now_us), last_flight_hour), first_flight_hour)
    return max(first_flight_hour, end - (max_points - 1) * HOUR_US)


def spend_series(
    hours: Sequence[HourlySpend],
    *,
    budget_micros: int,
    flight_start_us: int,
    flight_end_us: int,
    now_us: int,
    max_points: int = DEFAULT_MAX_POINTS,
    earlier_spend_micros: int = 0,
) -> SpendSeries:
    """Cumulative spend hour by hour over the campaign's flight so far.

    The series runs from the flight's first hour to the hour holding ``now_us`` (the flight's last
    hour once it has ended), so hours without spend show as flat steps and the even pace starts
    at zero. Spend outside the flight still counts: an hour with spend after the end of the series
    (clocks drift, rollups use receive time) extends it, and spend before its first hour is carried
    into the first point. At most the latest ``max_points`` hours are kept; older spend is carried
    too, so the cumulative line stays true. ``earlier_spend_micros`` is spend in hours before any of
    ``hours`` (storage sums them instead of reading them one by one); it is carried as well.
    """
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    by_hour: dict[int, int] = {}
    for h in hours:
        key = hour_start_us(h.hour_start_us)
        by_hour[key] = by_hour.get(key, 0) + h.spend_micros
    first_flight_hour = hour_start_us(flight_start_us)
    last_flight_hour = hour_start_us(max(flight_end_us - 1, flight_start_us))
    end = max(min(hour_start_us(now_us), last_flight_hour), first_flight_hour, *by_hour)
    first = max(first_flight_hour, end - (max_points - 1) * HOUR_US)
    carried = earlier_spend_micros + sum(spend for hour, spend in by_hour.items() if hour < first)
    cumulative = carried
    points: list[SpendPoint] = []
    for hour in range(first, end + HOUR_US, HOUR_US):
        spend = by_hour.get(hour, 0)
        cumulative += spend
        pace = _pace_micros(budget_micros, flight_start_us, flight_end_us, hour + HOUR_US)
        points.append(SpendPoint(hour, spend, cumulative, pace))
    return SpendSeries(
        budget_micros=budget_micros,
        points=tuple(points),
        carried_spend_micros=carried,
        total_spend_micros=earlier_spend_micros + sum(by_hour.values()),
        exhausted_hour_us=_exhausted_hour_us(by_hour, budget_micros, earlier_spend_micros),
        start_pace_micros=_pace_micros(budget_micros, flight_start_us, flight_end_us, first),
        exhausted_earlier=earlier_spend_micros >= budget_micros > 0,
    )


def _exhausted_hour_us(by_hour: dict[int, int], budget_micros: int, earlier_micros: int) -> int | None:
    # Over every hour read, not just the window: the budget may have run out before the first point.
    if earlier_micros >= budget_micros > 0:
        return None
    cumulative = earlier_micros
    for hour in sorted(by_hour):
        cumulative += by_hour[hour]
        if cumulative >= budget_micros > 0:
            return hour
    return None


def seconds_since(time_us: int, now_us: int) -> float | None:
    """Seconds from ``time_us`` to ``now_us`` (never negative), None when it never happened."""
    if time_us <= 0:
        return None
    return max(0, now_us - time_us) / 1_000_000


def edge_health(row: EdgeRow, now_us: int, reconnect_grace_s: float = RECONNECT_GRACE_S) -> tuple[str, str]:
    """The edge's health as (state, words for an operator); state is one of healthy, updating,
    refusing, reconnecting, offline, never."""
    in_sync = not row.current_version or row.applied_version == row.current_version
    if row.connected:
        if in_sync:
            return "healthy", "connected, healthy"
        if row.last_answer == "NACK" and row.last_nack_version == row.current_version:
            return "refusing", "connected, refused the latest index"
        return "updating", "connected, taking the latest index"
    seen_s = seconds_since(row.last_seen_us, now_us)
    if seen_s is None:
        return "never", "never connected"
    if seen_s < reconnect_grace_s:
        return "reconnecting", "reconnecting"
    return "offline", "offline"


def edge_json(row: EdgeRow, now_us: int) -> dict[str, Any]:
    """One row of the edges table."""
    health, health_text = edge_health(row, now_us)
    return {
        "store_id": row.store_id,
        "edge_id": row.edge_id,
        "connected": row.connected,
        "applied_version": row.applied_version,
        "current_version": row.current_version,
        # Nothing sent yet counts as in sync: the edge serves what it had when it connected.
        "in_sync": not row.current_version or row.applied_version == row.current_version,
        "last_answer": row.last_answer,
        "last_ack_time_us": row.last_ack_time_us or None,
        "last_nack_time_us": row.last_nack_time_us or None,
        "last_error": row.last_error,
        "last_nack_version": row.last_nack_version,
        "last_seen_us": row.last_seen_us or None,
        "seconds_since_seen": seconds_since(row.last_seen_us, now_us),
        "health": health,
        "health_text": health_text,
        # The page shows how long ago the edge was heard from only when that is news: it is offline.
        "stale": health == "offline",
        "flagged": row.flagged,
        "flag_reason": row.flag_reason,
        "flag_count": row.flag_count,
    }


def edges_json(rows: Sequence[EdgeRow], now_us: int) -> dict[str, Any]:
    """The edges page: every edge grouped by store, with per-store counts."""
    stores: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: (r.store_id, r.edge_id)):
        stores.setdefault(row.store_id, []).append(edge_json(row, now_us))
    return {
        "now_us": now_us,
        "stores": [
            {
                "store_id": store_id,
                "edges": edges,
                "connected": sum(1 for e in edges if e["connected"]),
                "in_sync": sum(1 for e in edges if e["in_sync"]),
            }
            for store_id, edges in stores.items()
        ],
    }


def _ivt_rate(c: CampaignTotals) -> float:
    ad_events = c.impressions + c.clicks + c.conversions + c.invalid_ad_events
    return c.invalid_ad_events / ad_events if ad_events else 0.0


def campaign_json(c: CampaignTotals) -> dict[str, Any]:
    """One row of the campaign totals table."""
    return {
        "campaign_id": c.campaign_id,
        "advertiser_id": c.advertiser_id,
        "display_name": c.display_name,
        "active": c.active,
        "budget_micros": c.budget_micros,
        "spend_micros": c.spend_micros,
        "remaining_micros": max(0, c.budget_micros - c.spend_micros),
        "spent_fraction": c.spend_micros / c.budget_micros if c.budget_micros > 0 else 0.0,
        "impressions": c.impressions,
        "clicks": c.clicks,
        "conversions": c.conversions,
        "invalid_ad_events": c.invalid_ad_events,
        # Invalid ad events / all ad events (valid and invalid); 0 without any.
        "invalid_traffic_rate": _ivt_rate(c),
        "plays": c.plays,
        # Viewable impressions / plays; 0 without plays.
        "viewability_rate": c.impressions / c.plays if c.plays else 0.0,
        "ct_sales_units": c.ct_sales_units,
        "ct_sales_micros": c.ct_sales_micros,
        "vt_sales_units": c.vt_sales_units,
        "vt_sales_micros": c.vt_sales_micros,
        "halo_sales_units": c.halo_sales_units,
        "halo_sales_micros": c.halo_sales_micros,
        "start_time_us": c.start_time_us,
        "end_time_us": c.end_time_us,
    }


def series_json(campaign: CampaignTotals, series: SpendSeries) -> dict[str, Any]:
    """The chart's data for one campaign."""
    return {
        "campaign": campaign_json(campaign),
        "budget_micros": series.budget_micros,
        "carried_spend_micros": series.carried_spend_micros,
        "total_spend_micros": series.total_spend_micros,
        "exhausted_hour_us": series.exhausted_hour_us,
        "exhausted_earlier": series.exhausted_earlier,
        "start_pace_micros": series.start_pace_micros,
        "points": [
            {
                "hour_start_us": p.hour_start_us,
                "spend_micros": p.spend_micros,
                "cumulative_spend_micros": p.cumulative_spend_micros,
                "pace_micros": p.pace_micros,
            }
            for p in series.points
        ],
    }
