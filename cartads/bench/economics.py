"""``cartads-bench economics``: delivery economics of a replayed store day.

Budget pacing: one store day replayed minute by minute (cartads/bench/pacing_sim.py) with carts
arriving along the Instacart sample's orders per hour of day, once with an EVEN line item and once
with an ASAP one, each with the same daily budget and the same rival. Prints how far the EVEN
line item's day ended from its budget (``even_daily_spend_error``, a fraction), how closely its
hourly spend followed the traffic, and the local hour the ASAP line item spent out.

Reports: ``report_ms_5m_events`` (a report over 5 million billed events on SQLite) comes from
``cartads.bench.cloud.reports``.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cartads.bench.cloud.reports import report_ms_5m_events
from cartads.bench.pacing_sim import PacingSimConfig, simulate_day
from cartads.sample.instacart import default_data_dir
from cartads.v1 import admin_pb2
from cloud_core.delivery.traffic_profile import HOURS

DESCRIPTION = (
    "Delivery economics: a replayed store day of budget pacing (EVEN vs ASAP line items, real compiler, "
    "pacing controller and edge selection) and, when available, the 5M-event report timing"
)


def instacart_orders_by_hour(data_dir: Path | None = None) -> tuple[int, ...]:
    """Orders per hour of day (order_hour_of_day) in the shipped Instacart sample."""
    counts = [0] * HOURS
    with (data_dir or default_data_dir()).joinpath("orders.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            counts[int(row["order_hour_of_day"]) % HOURS] += 1
    return tuple(counts)


def run_pacing_sim(
    *,
    requests_per_day: int = 30_000,
    daily_budget_micros: int = 20_000_000,
    seed: int = 7,
    hourly_weights: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Replay one day for an EVEN and an ASAP line item; their spend against the budget and traffic."""
    weights = tuple(hourly_weights) if hourly_weights is not None else instacart_orders_by_hour()
    results = {
        name: simulate_day(
            PacingSimConfig(
                hourly_weights=weights,
                pacing_type=pacing_type,
                requests_per_day=requests_per_day,
                daily_budget_micros=daily_budget_micros,
                seed=seed,
            )
        )
        for name, pacing_type in (("even", admin_pb2.PACING_TYPE_EVEN), ("asap", admin_pb2.PACING_TYPE_ASAP))
    }
    even, asap = results["even"], results["asap"]
    return {
        "requests_per_day": requests_per_day,
        "daily_budget_micros": daily_budget_micros,
        "even_daily_spend_micros": even.daily_spend_micros,
        "even_daily_spend_error": round(even.daily_spend_error, 5),
        "even_hourly_traffic_correlation": round(even.traffic_correlation, 4),
        "even_max_hour_share_error": round(even.max_hour_share_error, 4),
        "even_hourly_spend_micros": list(even.hourly_spend_micros),
        "hourly_requests": list(even.hourly_requests),
        "asap_daily_spend_micros": asap.daily_spend_micros,
        "asap_spent_out_hour": asap.spent_out_hour,
        "asap_hourly_spend_micros": list(asap.hourly_spend_micros),
        "index_versions_per_day": even.index_versions,
    }


def report_numbers() -> dict[str, Any]:
    """``report_ms_5m_events``: a report over 5 million billed events on SQLite."""
    return {"report_ms_5m_events": report_ms_5m_events()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options."""
    parser.add_argument("--requests-per-day", type=int, default=30_000, help="GetAds requests in the day")
    parser.add_argument("--daily-budget-micros", type=int, default=20_000_000, help="both line items' daily budget")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed")
    parser.add_argument("--skip-report", action="store_true", help="do not run the 5M-event report benchmark")


def run(args: argparse.Namespace) -> int:
    """Simulate and print."""
    out = run_pacing_sim(
        requests_per_day=args.requests_per_day, daily_budget_micros=args.daily_budget_micros, seed=args.seed
    )
    if not args.skip_report:
        out.update(report_numbers())
    if args.json:
        print(json.dumps(out, sort_keys=True))
        return 0
    budget = out["daily_budget_micros"] / 1e6
    print(f"budget pacing, one replayed store day ({out['requests_per_day']} requests, daily budget {budget:.2f}):")
    print(f"  EVEN spend                      {out['even_daily_spend_micros'] / 1e6:10.2f}")
    print(f"  EVEN daily spend error          {out['even_daily_spend_error']:10.2%}")
    print(f"  EVEN hourly spend vs traffic r  {out['even_hourly_traffic_correlation']:10.4f}")
    print(f"  EVEN max hourly share error     {out['even_max_hour_share_error']:10.2%}")
    print(f"  ASAP spend                      {out['asap_daily_spend_micros'] / 1e6:10.2f}")
    print(f"  ASAP spent out in local hour    {out['asap_spent_out_hour']!s:>10}")
    print("  hour  requests  EVEN spend  ASAP spend")
    for h in range(HOURS):
        print(
            f"  {h:4d}  {out['hourly_requests'][h]:8d}  {out['even_hourly_spend_micros'][h] / 1e6:10.2f}"
            f"  {out['asap_hourly_spend_micros'][h] / 1e6:10.2f}"
        )
    if "report_ms_5m_events" in out:
        print(f"report over 5M billed events      {out['report_ms_5m_events']} ms")
    return 0
