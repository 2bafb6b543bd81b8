"""The store simulator: real orders to traces, deterministic by seed, written to files and replayed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cart_client.app.catalog_loader import cart_catalog_from_sample
from cart_client.sensors.trace import Checkout, Scan, Touch, Weight, parse_trace_lines
from cart_client.sim.cli import main
from cart_client.sim.simulator import simulate, store_layout
from cart_client.trip.catalog import in_store_barcode
from cartads.reported_file import read_reported
from cartads.sample.instacart import Catalog, Order, load_catalog, load_orders
from cartads.v1 import common_pb2
from tests.cart_client.fakes import FakeAdService
from tests.cart_client.grpc_fake import fake_edge


def test_same_seed_same_trips(sample: tuple[Catalog, list[Order]]) -> None:
    """A seed fixes which orders are chosen and every trace; another seed changes them."""
    catalog, orders = sample
    first = simulate(orders, catalog, count=5, seed=11)
    assert first == simulate(orders, catalog, count=5, seed=11)
    assert first != simulate(orders, catalog, count=5, seed=12)


def test_trip_scans_the_order_by_barcode_in_layout_order(sample: tuple[Catalog, list[Order]]) -> None:
    """Each scan is an in-store barcode of an ordered product, zones come in aisle order, and the trip checks out."""
    catalog, orders = sample
    (trip,) = simulate(orders, catalog, count=1, seed=3)
    order = next(o for o in orders if o.order_id == trip.order_id)
    codes = {in_store_barcode(pid) for pid in order.product_ids}
    scans = [e for e in trip.events if isinstance(e, Scan)]
    assert scans
    assert all(s.code in codes and not s.product_id for s in scans)
    _placements, zone_order = store_layout(catalog)
    zones = [e.zone_id for e in trip.events if hasattr(e, "zone_id")]
    assert zones == sorted(zones, key=zone_order.index)
    assert isinstance(trip.events[-1], Checkout)
    assert all(isinstance(e, Touch) and e.propensity is not None for e in trip.events if isinstance(e, Touch))


def test_scale_readings_are_plausible_for_the_catalog(sample: tuple[Catalog, list[Order]]) -> None:
    """Nearly every positive scale reading is within the catalog tolerance of the scanned product's weight."""
    catalog, orders = sample
    cart_catalog = cart_catalog_from_sample(catalog)
    checked = within = 0
    for trip in simulate(orders, catalog, count=20, seed=5):
        for before, after in zip(trip.events, trip.events[1:], strict=False):
            if isinstance(before, Scan) and isinstance(after, Weight):
                item = cart_catalog.get(cart_catalog.product_for_code(before.code) or "")
                assert item is not None
                checked += 1
                within += abs(after.delta_g - item.weight_g) <= item.tolerance_g
    assert checked > 50
    assert within / checked > 0.99


def test_cli_writes_one_trace_file_per_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """cartads-sim --orders N --seed S --out DIR writes N parseable traces, the same bytes for the same seed."""
    assert main(["--orders", "3", "--seed", "9", "--out", str(tmp_path / "a"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trips"] == 3
    assert main(["--orders", "3", "--seed", "9", "--out", str(tmp_path / "b")]) == 0
    files = sorted((tmp_path / "a").glob("trip-*.jsonl"))
    assert len(files) == 3
    for path in files:
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()
        parsed = list(parse_trace_lines(path.read_text().splitlines()))
        assert all(not hasattr(p, "message") for p in parsed)


def test_cli_refuses_to_run_without_a_mode(capsys: pytest.CaptureFixture[str]) -> None:
    """Neither --out nor --replay is a usage error that says what to give."""
    assert main([]) == 2
    assert "--out DIR" in capsys.readouterr().err


async def test_replay_fuses_the_simulated_sensors_and_reports_to_the_edge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Replayed trips confirm their scans through the catalog, and what the edge journaled matches the stats."""
    assert main(["--orders", "4", "--seed", "2", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    fake = FakeAdService()
    async with fake_edge(fake) as edge:
        code = await asyncio.to_thread(
            main,
            [
                "--replay",
                str(tmp_path),
                "--edge",
                edge.address,
                "--store",
                "store-1",
                "--json",
                "--deadline-ms",
                "1000",
                # The fake edge judges no invalid traffic: each ad drawn may count as viewed at once.
                "--dwell-ms",
                "0",
            ],
        )
    assert code == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["trips"] == 4
    assert stats["impressions_reported"] == len(fake.journaled(common_pb2.EVENT_TYPE_IMPRESSION)) > 0
    assert stats["clicks_reported"] == len(fake.journaled(common_pb2.EVENT_TYPE_CLICK))
    assert stats["basket_adds"] == len(fake.journaled(common_pb2.EVENT_TYPE_BASKET_ADD))
    adds = fake.journaled(common_pb2.EVENT_TYPE_BASKET_ADD)
    scans = sum(
        1
        for trip in simulate(load_orders(), load_catalog(), count=4, seed=2)
        for e in trip.events
        if isinstance(e, Scan)
    )
    assert len(adds) >= scans * 0.95
    assert len({e.session_id for e in adds}) == 4


async def test_replay_writes_what_each_cart_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--reported FILE holds, per simulated cart, the events the edge journaled from it."""
    trips, reported = tmp_path / "trips", tmp_path / "reported.json"
    assert main(["--orders", "4", "--seed", "2", "--out", str(trips)]) == 0
    fake = FakeAdService()
    async with fake_edge(fake) as edge:
        argv = ["--replay", str(trips), "--edge", edge.address, "--store", "store-1", "--carts", "2"]
        argv += ["--deadline-ms", "1000", "--dwell-ms", "0", "--reported", str(reported)]
        assert await asyncio.to_thread(main, argv) == 0
    body = read_reported(reported)
    assert body.store_id == "store-1"
    assert sorted(body.carts) == sorted({e.cart_id for e in fake.journal.values()})
    for cart_id, counts in body.carts.items():
        from_cart = [e for e in fake.journal.values() if e.cart_id == cart_id]
        assert counts.events == len(from_cart)
        assert counts.impressions == sum(1 for e in from_cart if e.type == common_pb2.EVENT_TYPE_IMPRESSION)
    assert f"billing reconcile --reported {reported}" in capsys.readouterr().out
