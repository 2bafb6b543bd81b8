"""The simulated devices' view of a trip: printed symbols that resolve, and a load cell settling on time."""

from __future__ import annotations

import random

import pytest

from cart_client.app.catalog_loader import cart_catalog_from_sample
from cart_client.barcodes import decode
from cart_client.sensors.trace import ScaleReading, Scan, SensorEvent, Weight, Zone
from cart_client.sim.bus_trace import ScaleNoise, bus_events, printed_symbol
from cart_client.sim.simulator import simulate
from cart_client.trip.catalog import CartCatalog, CatalogItem
from cart_client.trip.scale import StableScale
from cart_client.trip.scanning import ResolvedScan, resolve_scan
from cartads.sample.instacart import Catalog, Order

CATALOG = CartCatalog(
    [
        CatalogItem("cola", "Cola", weight_g=360.0, gtin="00036000241457"),
        CatalogItem("steak", "Steak", price_micros=6_000_000, weight_g=500.0, measure_ref="24852"),
    ]
)


@pytest.mark.parametrize(
    ("gtin14", "printed"),
    [("00000096385074", "96385074"), ("00036000241457", "036000241457"), ("04006381333931", "4006381333931")],
)
def test_a_gtin_is_printed_in_its_shortest_form(gtin14: str, printed: str) -> None:
    """EAN-8, UPC-A or EAN-13, as a consumer unit carries it."""
    assert printed_symbol(gtin14) == printed


def test_each_weight_change_settles_exactly_at_its_time() -> None:
    """The stable-scale filter reports every change of the trace at the trace's t_ms, and nothing else."""
    trace: list[SensorEvent] = [Zone("z", 1_000), Weight(360.4, 5_000), Weight(-358.0, 20_000)]
    published = bus_events(trace, CATALOG, random.Random(1))
    scale = StableScale()
    changes = [
        (reading.t_ms, delta)
        for reading in published
        if isinstance(reading, ScaleReading)
        and (delta := scale.reading(reading.gross_g, reading.t_ms or 0, motion=reading.motion)) is not None
    ]
    assert [t for t, _ in changes] == [5_000, 20_000]
    assert [d for _, d in changes] == [pytest.approx(360.4, abs=1.6), pytest.approx(-358.0, abs=1.6)]


def test_a_weighed_items_scan_is_its_scale_label() -> None:
    """A weighed product is scanned by its label, which states what the scale then weighs (or its price)."""
    trace: list[SensorEvent] = [Scan("steak", 1_000), Weight(612.0, 2_000)]
    for seed in range(6):
        (scan,) = [e for e in bus_events(trace, CATALOG, random.Random(seed)) if isinstance(e, Scan)]
        resolved = resolve_scan(CATALOG, scan.code)
        assert isinstance(resolved, ResolvedScan)
        assert resolved.product_id == "steak"
        assert resolved.label_weight_g == pytest.approx(612.0, abs=1.0)


def test_every_simulated_scan_is_a_valid_symbol_of_its_product(sample: tuple[Catalog, list[Order]]) -> None:
    """Across simulated trips, each published symbol decodes and resolves to the product the trace scanned."""
    catalog = cart_catalog_from_sample(sample[0])
    trips = simulate(sample[1], sample[0], count=5, seed=9)
    noise = ScaleNoise(databar=0.5)
    for n, trip in enumerate(trips):
        expected = [catalog.product_for_code(e.code) for e in trip.events if isinstance(e, Scan)]
        scans = [e for e in bus_events(trip.events, catalog, random.Random(n), noise) if isinstance(e, Scan)]
        for scan in scans:
            decode(scan.code)
        resolved = [resolve_scan(catalog, s.code) for s in scans]
        assert [r.product_id for r in resolved if isinstance(r, ResolvedScan)] == expected
