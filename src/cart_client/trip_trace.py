"""Turns a real order (products in add-to-cart order) into the sensor trace of a walk through the store.

Pure: the randomness comes from the caller's ``random.Random``, so a seed fixes the trace.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cart_client.trace import Checkout, Scan, SensorEvent, Touch, Weight, Zone
from cart_client.trip import DEFAULT_SLOTS

DEFAULT_SLOT_IDS: tuple[str, ...] = tuple(slot.slot_id for slot in DEFAULT_SLOTS)

# Scales in carts read to a few grams and items vary a little around their nominal weight.
_WEIGHT_NOISE_FRACTION = 0.03
_WEIGHT_NOISE_MIN_G = 2.0


@dataclass(frozen=True, slots=True)
class ProductPlacement:
    """Where a product sits in the store and what one unit of it weighs."""

    product_id: str
    zone_id: str
    weight_g: float


def trace_from_order(
    product_ids: Sequence[str],
    placements: Mapping[str, ProductPlacement],
    zone_order: Sequence[str],
    rng: random.Random,
    click_probability: float = 0.15,
    *,
    slot_ids: Sequence[str] = DEFAULT_SLOT_IDS,
) -> list[SensorEvent]:
    """The trace of a cart that walks the zones in ``zone_order`` and scans the order's products.

    Each zone holding an ordered product is entered once; its products are scanned in order
    position (a product ordered twice is scanned twice), each scan followed by the scale's reading
    and, with ``click_probability``, a touch on one of ``slot_ids``. Products without a placement
    are left out (the cart could not find them); zones missing from ``zone_order`` come last.
    """
    if not 0.0 <= click_probability <= 1.0:
        raise ValueError("click_probability must be within [0, 1]")
    if not slot_ids and click_probability > 0:
        raise ValueError("slot_ids must not be empty when clicks can happen")
    by_zone: dict[str, list[ProductPlacement]] = {}
    for product_id in product_ids:
        placement = placements.get(product_id)
        if placement is not None:
            by_zone.setdefault(placement.zone_id, []).append(placement)
    rank = {zone_id: position for position, zone_id in enumerate(zone_order)}
    unranked = len(rank)
    # sorted() is stable, so unlisted zones keep the order of their first product in the basket.
    zones = sorted(by_zone, key=lambda zone_id: rank.get(zone_id, unranked))

    events: list[SensorEvent] = []
    t_ms = 0
    for zone_id in zones:
        t_ms += rng.randint(5_000, 30_000)  # walking to the zone
        events.append(Zone(zone_id, t_ms))
        for placement in by_zone[zone_id]:
            t_ms += rng.randint(3_000, 20_000)  # finding the product on the shelf
            events.append(Scan(placement.product_id, t_ms))
            t_ms += rng.randint(500, 2_000)  # placing it in the basket
            noise_g = rng.gauss(0.0, max(_WEIGHT_NOISE_MIN_G, placement.weight_g * _WEIGHT_NOISE_FRACTION))
            events.append(Weight(round(max(1.0, placement.weight_g + noise_g), 1), t_ms))
            if rng.random() < click_probability:
                t_ms += rng.randint(1_000, 5_000)
                events.append(Touch(rng.choice(list(slot_ids)), t_ms))
    t_ms += rng.randint(10_000, 60_000)  # to the exit
    events.append(Checkout(t_ms))
    return events


__all__ = ["DEFAULT_SLOT_IDS", "ProductPlacement", "trace_from_order"]
