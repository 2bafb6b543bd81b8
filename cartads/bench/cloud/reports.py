"""Report speed over 5 million billed events: RunReport's core on a SQLite file of hourly rollups.

The rollups are inserted directly in bulk (what ingest would have written for that many events):
two weeks of hours for 20 stores, 40 campaigns of 3 line items with 2 creatives each, every event
also rolled up under one experiment layer's arm, trip sums for the layer's three arms, and the
edges' request counts per store, hour, trigger and outcome. Each
representative report (by campaign over two weeks, an advertiser's campaigns by day, by arm with
lift, by store and hour for a day, a campaign's line items and creatives) runs several times and
its median counts; ``report_ms_5m_events`` is the slowest of those medians.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cartads.time_units import HOUR_US, us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.admin.reports import run_report
from cloud_core.reports.metrics import trip_cents
from cloud_core.reports.rollups import campaign_rows, daily_rows
from cloud_core.storage import schema as t
from cloud_core.storage.cloud_store import SqlCloudStore

# Monday 2026-11-02 00:00 UTC: the data covers whole days from here.
START_US = 1_793_577_600 * 1_000_000
STORES = 20
CAMPAIGNS = 40
LINE_ITEMS_PER_CAMPAIGN = 3
CREATIVES_PER_LINE_ITEM = 2
DAYS = 14
LAYER_ID = "layer-reserve"
ARMS = (("control", False), ("high-reserve", False), ("holdout", True))
# Relative traffic per hour of day (a grocery store: quiet at night, peaks late morning and evening).
HOURLY_WEIGHT = (1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 11, 12, 11, 10, 10, 11, 12, 13, 12, 9, 6, 4, 2, 1)


@dataclass(frozen=True)
class Scale:
    """How much data: stores and days (the defaults are the benchmark's; tests use less)."""

    stores: int = STORES
    days: int = DAYS


def _rows(target_events: int, seed: int, scale: Scale) -> tuple[list[dict[str, Any]], int]:
    """Rollup rows (all traffic plus per arm) whose impressions, clicks and conversions sum to about
    ``target_events``; returns them and the exact billed event count."""
    rng = random.Random(seed)
    hours = scale.days * 24
    weight_sum = sum(HOURLY_WEIGHT) * scale.days * scale.stores
    per_weight = target_events / weight_sum
    line_items = [(c, li) for c in range(CAMPAIGNS) for li in range(LINE_ITEMS_PER_CAMPAIGN)]
    rows: list[dict[str, Any]] = []
    events = 0
    for h in range(hours):
        hour_us = START_US + h * HOUR_US
        weight = HOURLY_WEIGHT[h % 24]
        for s in range(scale.stores):
            budget = per_weight * weight  # billed events in this store-hour
            served = rng.sample(line_items, k=max(1, round(4 + weight * 1.2)))
            share = budget / len(served)
            for c, li in served:
                for cr in range(CREATIVES_PER_LINE_ITEM):
                    impressions = max(1, round(share / CREATIVES_PER_LINE_ITEM * rng.uniform(0.6, 1.4) * 0.95))
                    clicks = rng.randint(0, max(1, impressions // 40))
                    conversions = rng.randint(0, max(1, impressions // 80))
                    events += impressions + clicks + conversions
                    base = {
                        "hour_start_us": hour_us,
                        "store_id": f"store-{s:02d}",
                        "campaign_id": f"cmp-{c:02d}",
                        "line_item_id": f"li-{c:02d}-{li}",
                        "creative_id": f"cr-{c:02d}-{li}-{cr}",
                        "advertiser_id": f"adv-{c // 4:02d}",
                    }
                    counts = (impressions, clicks, conversions)
                    spend = impressions * 5_000 + clicks * 400_000
                    sales = conversions * rng.randint(2_000_000, 9_000_000)
                    rows.append(_row(base, "", "", counts, spend=spend, sales=sales))
                    # Events split between the layer's two exposed arms (the holdout sees no ads).
                    first = round(impressions * rng.uniform(0.4, 0.6))
                    parts = ((first, clicks // 2, conversions // 2), (impressions - first, clicks - clicks // 2, 0))
                    for (arm_id, _), (imp, clk, conv) in zip(ARMS, parts, strict=False):
                        rows.append(
                            _row(base, LAYER_ID, arm_id, (imp, clk, conv), spend=imp * 5_000 + clk * 400_000, sales=0)
                        )
    return rows, events


def _row(
    base: dict[str, Any], layer_id: str, arm_id: str, counts: tuple[int, int, int], *, spend: int, sales: int
) -> dict[str, Any]:
    impressions, clicks, conversions = counts
    return {
        **base,
        "layer_id": layer_id,
        "arm_id": arm_id,
        "impressions": impressions,
        "clicks": clicks,
        "conversions": conversions,
        "spend_micros": spend,
        "sales_micros": sales,
        # The bench's campaigns stay within budget.
        "over_delivery_micros": 0,
        "over_delivered_events": 0,
        # Plays: one per impression (every play viewable), so a bench report reads as plausible.
        "plays": impressions,
        # Sales at checkout: a share of conversions bought, valued like the conversions.
        "ct_sales_units": conversions // 2,
        "ct_sales_micros": sales // 2,
        "vt_sales_units": conversions - conversions // 2,
        "vt_sales_micros": sales - sales // 2,
        "halo_sales_units": conversions // 4,
        "halo_sales_micros": sales // 4,
    }


def _trip_rows(seed: int, scale: Scale) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed + 1)
    for h in range(scale.days * 24):
        for s in range(scale.stores):
            for arm_id, holdout in ARMS:
                trips = max(1, HOURLY_WEIGHT[h % 24] * 3 + rng.randint(0, 3))
                converting = sum(1 for _ in range(trips) if rng.random() < (0.18 if holdout else 0.22))
                sales = [rng.randint(1_000_000, 12_000_000) for _ in range(converting)]
                yield {
                    "layer_id": LAYER_ID,
                    "hour_start_us": START_US + h * HOUR_US,
                    "store_id": f"store-{s:02d}",
                    "arm_id": arm_id,
                    "trips": trips,
                    "converting_trips": converting,
                    "sales_micros": sum(sales),
                    "sales_sq_cents2": sum(trip_cents(x) ** 2 for x in sales),
                }


def _request_rows(seed: int, scale: Scale) -> Iterator[dict[str, Any]]:
    """GetAds requests per store, hour, trigger and outcome (filled, no candidates, holdout)."""
    rng = random.Random(seed + 2)
    for h in range(scale.days * 24):
        for s in range(scale.stores):
            for trigger in range(1, 6):
                for reason in (0, 2, 160):
                    yield {
                        "store_id": f"store-{s:02d}",
                        "hour_start_us": START_US + h * HOUR_US,
                        "trigger": trigger,
                        "no_fill_reason": reason,
                        "requests": HOURLY_WEIGHT[h % 24] * rng.randint(5, 15),
                        "ads": 0,
                    }


def _load(conn: Connection, rows: list[dict[str, Any]], seed: int, scale: Scale) -> None:
    # What ingest writes: the hourly rows and their sums per UTC day.
    daily = daily_rows(rows)
    tables = (
        (t.report_rollups_hourly, rows),
        (t.report_rollups_daily, daily),
        (t.report_rollups_daily_campaign, campaign_rows(daily)),
    )
    for table, batch in (
        *tables,
        (t.experiment_trip_rollups_hourly, list(_trip_rows(seed, scale))),
        (t.request_counts_hourly, list(_request_rows(seed, scale))),
    ):
        _bulk_insert(conn, table, batch)


def _bulk_insert(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Plain tuples through the driver's executemany: loading is not what this benchmark measures,
    and SQLAlchemy's per-row parameter handling would triple the setup time."""
    if not rows:
        return
    columns = list(rows[0])
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    conn.exec_driver_sql(sql, [tuple(r[c] for c in columns) for r in rows])


def _layer() -> admin_pb2.ExperimentLayer:
    layer = admin_pb2.ExperimentLayer(
        layer_id=LAYER_ID, display_name="reserve test", salt="bench", state=admin_pb2.SERVING_STATE_ACTIVE
    )
    for arm_id, holdout in ARMS:
        layer.arms.add(arm_id=arm_id, traffic_bps=3000, holdout=holdout)
    layer.create_time.CopyFrom(us_to_ts(START_US))
    return layer


def _request(
    dimensions: list[admin_pb2.ReportDimension], start_h: int, hours: int, **fields: Any
) -> admin_pb2.RunReportRequest:
    request = admin_pb2.RunReportRequest(dimensions=dimensions, **fields)
    request.start_time.CopyFrom(us_to_ts(START_US + start_h * HOUR_US))
    request.end_time.CopyFrom(us_to_ts(START_US + (start_h + hours) * HOUR_US))
    return request


D = admin_pb2


def representative_reports(days: int = DAYS) -> dict[str, admin_pb2.RunReportRequest]:
    """The reports timed: what operators and advertisers ask most."""
    full = days * 24
    return {
        "by_campaign_14d": _request([D.REPORT_DIMENSION_CAMPAIGN], 0, full),
        "advertiser_campaign_by_day_7d": _request(
            [D.REPORT_DIMENSION_CAMPAIGN, D.REPORT_DIMENSION_DAY], 0, min(7, days) * 24, advertiser_id="adv-03"
        ),
        "by_arm_with_lift_14d": _request([D.REPORT_DIMENSION_EXPERIMENT_ARM], 0, full),
        "by_store_hour_1d": _request([D.REPORT_DIMENSION_STORE, D.REPORT_DIMENSION_HOUR], min(3, days - 1) * 24, 24),
        "campaign_line_item_creative_14d": _request(
            [D.REPORT_DIMENSION_LINE_ITEM, D.REPORT_DIMENSION_CREATIVE], 0, full, campaign_ids=["cmp-07"]
        ),
        "totals_14d": _request([], 0, full),
    }


async def _measure(db_path: str, runs: int, seed: int, target_events: int, scale: Scale) -> dict[str, Any]:
    store = await SqlCloudStore.open(db_path)
    try:
        started = time.perf_counter()
        rows, events = _rows(target_events, seed, scale)
        await store.db.write(lambda conn: _load(conn, rows, seed, scale))
        await store.experiments.create_experiment_layer(_layer())
        load_s = time.perf_counter() - started
        medians: dict[str, float] = {}
        cpu_medians: dict[str, float] = {}
        row_counts: dict[str, int] = {}
        for name, request in representative_reports(scale.days).items():
            times, cpu = [], []
            for _ in range(runs):
                t0, c0 = time.perf_counter(), time.process_time()
                response = await run_report(store.reports, store.experiments, request)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            medians[name] = round(statistics.median(times), 2)
            cpu_medians[name] = round(statistics.median(cpu), 2)
            row_counts[name] = len(response.rows)
            if name == "totals_14d":
                totals = response.totals
                # The reports must see every loaded event, or the timing measures nothing.
                reported = totals.impressions + totals.clicks + totals.conversions
                if reported != events:
                    raise AssertionError(f"totals report saw {reported} billed events of {events}")
        return {
            "billed_events": events,
            "rollup_rows": len(rows),
            "load_s": round(load_s, 2),
            "runs": runs,
            "report_ms": medians,
            "report_rows": row_counts,
            "report_ms_5m_events": max(medians.values()),
            # CPU time of this process (the loop and the database thread): what a report costs
            # when other processes compete for the cores and stretch the wall-clock numbers.
            "report_cpu_ms": cpu_medians,
            "report_cpu_ms_5m_events": max(cpu_medians.values()),
        }
    finally:
        await store.close()


def run_report_bench(
    *,
    target_events: int = 5_000_000,
    runs: int = 7,
    seed: int = 11,
    db_dir: str | None = None,
    scale: Scale | None = None,
) -> dict[str, Any]:
    """Load the rollups of ``target_events`` billed events into a fresh SQLite file and time the
    representative reports (median of ``runs`` each); ``report_ms_5m_events`` is the slowest median."""
    with tempfile.TemporaryDirectory(dir=db_dir) as tmp:
        path = str(Path(tmp) / "reports.sqlite3")
        return asyncio.run(_measure(path, runs, seed, target_events, scale or Scale()))


def report_ms_5m_events() -> float:
    """The number ``cartads-bench economics`` prints."""
    return float(run_report_bench()["report_ms_5m_events"])
