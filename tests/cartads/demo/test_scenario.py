"""The demo's advertiser plan."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cart_client.sensors.trace import dump_trace
from cartads.demo.demo import trace_for_order
from cartads.demo.scenario import plan_advertisers
from cartads.sample.instacart import load_catalog, load_orders


def test_plan_targets_real_products_and_aisles() -> None:
    """Every targeted product and aisle exists in the store's catalog, and every id is unique."""
    catalog = load_catalog()
    plans = plan_advertisers(catalog, load_orders())
    products = {p.product_id for p in catalog.products}
    aisles = {a.aisle_id for a in catalog.aisles}
    line_items = [li for plan in plans for li in plan.line_items]
    assert len(plans) == 7
    assert all(set(li.product_ids) <= products and set(li.aisle_ids) <= aisles for li in line_items)
    assert len({li.line_item_id for li in line_items}) == len(line_items)
    assert len({p.advertiser_id for p in plans}) == len(plans)


def test_plan_is_deterministic() -> None:
    """The same sample gives the same plan in every process, whatever its hash seed."""
    code = (
        "from cartads.demo.scenario import plan_advertisers\n"
        "from cartads.sample.instacart import load_catalog, load_orders\n"
        "print(repr(plan_advertisers(load_catalog(), load_orders())))"
    )
    plans = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in ("1", "2")
    }
    assert plans == {repr(plan_advertisers(load_catalog(), load_orders()))}


def test_shipped_example_trace_is_current() -> None:
    """examples/trip-2581.jsonl is exactly what `cartads-demo --print-trace 2581` prints."""
    order = next(o for o in load_orders() if o.order_id == "2581")
    expected = list(dump_trace(trace_for_order(order, load_catalog(), seed=7)))
    shipped = (Path(__file__).resolve().parents[3] / "examples" / "trip-2581.jsonl").read_text().splitlines()
    assert shipped == expected
