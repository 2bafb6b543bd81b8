"""A simulated trip as its sensor daemons would publish it on the bus, with realistic noise.

The JSON Lines trace says what happened ("scan product X", "the scale went up 412 g"); the bus
carries what devices emit. So each scan becomes the symbol printed on the product (its GTIN as
UPC-A, EAN-13 or EAN-8, now and then read from a GS1 DataBar, and a weighed item's scale label
with its weight or price), and each weight change becomes the load cell's raw stream: a swing while
the item goes in (flagged in motion by the device, or not), then settled readings with noise,
while the cell slowly drifts. Every weight change settles at exactly the trace's ``t_ms``: its
last swing reading is well away from the new level and its settled readings, as many as the
cart's stable window, stay within the window's tolerance. An idle burst before the trip's first
event gives the empty cart's reference.

Pure: the randomness comes from the caller's ``random.Random``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from cart_client.barcodes.gtin import price_verifier_digit, with_check_digit
from cart_client.sensors.trace import ScaleReading, Scan, SensorEvent, Weight
from cart_client.trip.catalog import CartCatalog, CatalogItem


@dataclass(frozen=True, slots=True)
class ScaleNoise:
    """How the simulated load cell behaves."""

    reading_interval_ms: int = 50
    swing_readings: int = 3
    # As many as the cart's stable window (StableScaleConfig.window), so the change settles at t_ms.
    settled_readings: int = 5
    noise_sd_g: float = 0.7
    # Noise is clipped here: settled readings stay within the cart's 4 g tolerance of each other.
    noise_max_g: float = 1.5
    # A swinging load is at least this far from where it settles.
    swing_min_g: float = 12.0
    drift_g_per_min: float = 0.6
    # How often the device itself flags the swing as motion (cheap cells do not).
    flags_motion: float = 0.5
    # How often a packaged item's GTIN is read from a GS1 DataBar rather than its UPC/EAN.
    databar: float = 0.1
    # How often a weighed item's label states its price rather than its weight.
    price_label: float = 0.5


def printed_symbol(gtin14: str) -> str:
    """A GTIN-14 as printed on a consumer unit: EAN-8, UPC-A or EAN-13, the shortest that holds it."""
    if gtin14.startswith("000000"):
        return gtin14[6:]
    if gtin14.startswith("00"):
        return gtin14[2:]
    return gtin14[1:]


def _label(item: CatalogItem, grams: float, rng: random.Random, noise: ScaleNoise) -> str:
    if rng.random() < noise.price_label and item.price_micros > 0 and item.weight_g > 0:
        cents = round(grams * item.price_micros / item.weight_g / 10_000)
        field = f"{min(cents, 9999):04d}"
        return with_check_digit("2" + item.measure_ref + price_verifier_digit(field) + field)
    return with_check_digit("28" + item.measure_ref + f"{min(round(grams), 99_999):05d}")


def _symbol(scan: Scan, placed_g: float | None, catalog: CartCatalog, rng: random.Random, noise: ScaleNoise) -> str:
    product_id = scan.product_id or catalog.product_for_code(scan.code) or ""
    item = catalog.get(product_id)
    if item is None:
        if not scan.code:
            raise ValueError(f"product {scan.product_id!r} has no barcode to put on the bus")
        return scan.code
    if item.measure_ref:
        return _label(item, placed_g if placed_g is not None else item.weight_g, rng, noise)
    if item.gtin:
        return "]e001" + item.gtin if rng.random() < noise.databar else printed_symbol(item.gtin)
    if scan.code:
        return scan.code
    raise ValueError(f"product {product_id!r} has no barcode to put on the bus")


def _placed_weight(events: Sequence[SensorEvent], after: int) -> float | None:
    """The weight the scan at ``after`` put in the basket: the next increase in the trace."""
    return next((e.delta_g for e in events[after + 1 :] if isinstance(e, Weight) and e.delta_g > 0), None)


def _readings(
    start_g: float, end_g: float, t_ms: int, drift_g: float, *, rng: random.Random, noise: ScaleNoise
) -> list[ScaleReading]:
    step = noise.reading_interval_ms
    count = noise.swing_readings + noise.settled_readings
    first_ms = t_ms - (count - 1) * step
    flagged = rng.random() < noise.flags_motion
    out: list[ScaleReading] = []
    for i in range(noise.swing_readings):
        # Overshoot or still on the way, never already settled.
        away = max(noise.swing_min_g, abs(end_g - start_g) * rng.uniform(0.1, 0.6))
        swing = end_g + (away if rng.random() < 0.5 else -away)
        out.append(ScaleReading(round(swing + drift_g, 1), first_ms + i * step, motion=flagged))
    for i in range(noise.swing_readings, count):
        jitter = max(-noise.noise_max_g, min(noise.noise_max_g, rng.gauss(0.0, noise.noise_sd_g)))
        out.append(ScaleReading(round(end_g + drift_g + jitter, 1), first_ms + i * step))
    return out


def bus_events(
    events: Sequence[SensorEvent], catalog: CartCatalog, rng: random.Random, noise: ScaleNoise | None = None
) -> list[SensorEvent]:
    """What the cart's devices publish for the trip ``events`` (which must carry ``t_ms``), in time order."""
    model = noise or ScaleNoise()
    out: list[SensorEvent] = []
    gross_g = 0.0
    first_ms = next((e.t_ms for e in events if e.t_ms is not None), 0)
    settle = model.settled_readings
    for i in range(settle):
        t_ms = max(0, first_ms - (settle - i) * model.reading_interval_ms)
        jitter = max(-model.noise_max_g, min(model.noise_max_g, rng.gauss(0.0, model.noise_sd_g)))
        out.append(ScaleReading(round(jitter, 1), t_ms))
    for index, event in enumerate(events):
        t_ms = event.t_ms if event.t_ms is not None else first_ms
        drift_g = model.drift_g_per_min * (t_ms - first_ms) / 60_000
        if isinstance(event, Weight):
            out.extend(_readings(gross_g, gross_g + event.delta_g, t_ms, drift_g, rng=rng, noise=model))
            gross_g += event.delta_g
        elif isinstance(event, Scan):
            code = _symbol(event, _placed_weight(events, index), catalog, rng, model)
            out.append(Scan("", event.t_ms, code=code))
        else:
            out.append(event)
    # In time order: a swing may begin before the scan just before it (the item is lifted while scanned).
    return sorted(out, key=lambda e: e.t_ms if e.t_ms is not None else 0)


__all__ = ["ScaleNoise", "bus_events", "printed_symbol"]
