"""Turns a real order (products in add-to-cart order) into the sensor trace of a walk through the store.

The shopper walks the zones holding the order's products in the store's layout order, dwells in
each, and for each product: finds it, scans it, puts it in the basket (the scale reads its weight
with a little noise, the camera usually sees it too), and now and then looks at the screen. Now and
then the shopper also forgets to scan an item (the camera and the scale catch it), takes an item
back out, stands idle, or the camera guesses a wrong product with low confidence. All rates are in
``ShopperModel``.

A look at the screen is a touch carrying the shopper's ``propensity`` to tap: the ad is chosen
later by the edge, so whoever replays the trace decides the tap against the ad on screen (see
``cart_client.sim.relevance``). Pure: the randomness comes from the caller's ``random.Random``, so a
seed fixes the trace.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cart_client.sensors.trace import Checkout, Scan, SensorEvent, Touch, Vision, Weight, Zone
from cart_client.trip.core import DEFAULT_SLOTS

DEFAULT_SLOT_IDS: tuple[str, ...] = tuple(slot.slot_id for slot in DEFAULT_SLOTS)

# Scales in carts read to a few grams and items vary a little around their nominal weight.
_WEIGHT_NOISE_FRACTION = 0.03
_WEIGHT_NOISE_MIN_G = 2.0


@dataclass(frozen=True, slots=True)
class ProductPlacement:
    """Where a product sits in the store, what one unit of it weighs, and its barcode (if labelled)."""

    product_id: str
    zone_id: str
    weight_g: float
    code: str = ""


@dataclass(frozen=True, slots=True)
class ShopperModel:
    """How often the simulated shopper and sensors do each thing (probabilities per product)."""

    look_at_screen: float = 0.5
    camera_sees_item: float = 0.6
    camera_false_sighting: float = 0.1
    forgets_to_scan: float = 0.03
    puts_item_back: float = 0.02
    stands_idle: float = 0.03
    idle_ms: tuple[int, int] = (70_000, 120_000)

    def __post_init__(self) -> None:
        rates = (
            self.look_at_screen,
            self.camera_sees_item,
            self.camera_false_sighting,
            self.forgets_to_scan,
            self.puts_item_back,
            self.stands_idle,
        )
        if not all(0.0 <= rate <= 1.0 for rate in rates):
            raise ValueError("shopper model rates must be within [0, 1]")


# Scans and weights only: what tests of the walk itself want.
PLAIN_SHOPPER = ShopperModel(
    look_at_screen=1.0, camera_sees_item=0, camera_false_sighting=0, forgets_to_scan=0, puts_item_back=0, stands_idle=0
)


def _weight_reading(rng: random.Random, weight_g: float) -> float:
    noise_g = rng.gauss(0.0, max(_WEIGHT_NOISE_MIN_G, weight_g * _WEIGHT_NOISE_FRACTION))
    return round(max(1.0, weight_g + noise_g), 1)


def trace_from_order(
    product_ids: Sequence[str],
    placements: Mapping[str, ProductPlacement],
    zone_order: Sequence[str],
    rng: random.Random,
    click_probability: float = 0.15,
    *,
    slot_ids: Sequence[str] = DEFAULT_SLOT_IDS,
    shopper: ShopperModel | None = None,
) -> list[SensorEvent]:
    """The trace of a cart that walks the zones in ``zone_order`` and buys the order's products.

    Each zone holding an ordered product is entered once; its products are handled in order
    position (a product ordered twice is handled twice). ``click_probability`` is the mean chance
    that the shopper taps an ad after a product: each look at the screen (``shopper.look_at_screen``)
    carries a propensity chosen so that an ad of middling relevance is tapped that often. Products
    without a placement are left out (the cart could not find them); zones missing from
    ``zone_order`` come last.
    """
    if not 0.0 <= click_probability <= 1.0:
        raise ValueError("click_probability must be within [0, 1]")
    if not slot_ids and click_probability > 0:
        raise ValueError("slot_ids must not be empty when clicks can happen")
    model = shopper or ShopperModel()
    by_zone: dict[str, list[ProductPlacement]] = {}
    for product_id in product_ids:
        placement = placements.get(product_id)
        if placement is not None:
            by_zone.setdefault(placement.zone_id, []).append(placement)
    rank = {zone_id: position for position, zone_id in enumerate(zone_order)}
    unranked = len(rank)
    # sorted() is stable, so unlisted zones keep the order of their first product in the basket.
    zones = sorted(by_zone, key=lambda zone_id: rank.get(zone_id, unranked))
    all_products = sorted(placements)
    # tap chance = propensity × (0.25 + 1.5 × relevance); relevance 0.5 makes that propensity × 1.0.
    propensity = min(1.0, click_probability / model.look_at_screen) if model.look_at_screen > 0 else 0.0

    events: list[SensorEvent] = []
    in_basket: list[ProductPlacement] = []
    t_ms = 0
    for zone_id in zones:
        t_ms += rng.randint(5_000, 30_000)  # walking to the zone
        events.append(Zone(zone_id, t_ms))
        for placement in by_zone[zone_id]:
            t_ms += rng.randint(3_000, 20_000)  # finding the product on the shelf
            if rng.random() < model.stands_idle:
                t_ms += rng.randint(*model.idle_ms)  # reading labels, chatting, on the phone
            forgot = rng.random() < model.forgets_to_scan
            if not forgot:
                if placement.code:
                    events.append(Scan("", t_ms, code=placement.code))
                else:
                    events.append(Scan(placement.product_id, t_ms))
            t_ms += rng.randint(500, 2_000)  # placing it in the basket
            events.append(Weight(_weight_reading(rng, placement.weight_g), t_ms))
            in_basket.append(placement)
            if forgot or rng.random() < model.camera_sees_item:
                t_ms += rng.randint(50, 400)
                events.append(Vision(placement.product_id, round(rng.uniform(0.86, 0.99), 2), t_ms))
            if rng.random() < model.camera_false_sighting and all_products:
                t_ms += rng.randint(50, 400)
                events.append(Vision(rng.choice(all_products), round(rng.uniform(0.2, 0.7), 2), t_ms))
            if rng.random() < model.puts_item_back and in_basket:
                t_ms += rng.randint(2_000, 8_000)
                back = in_basket.pop(rng.randrange(len(in_basket)))
                events.append(Weight(-_weight_reading(rng, back.weight_g), t_ms))
            if propensity > 0 and rng.random() < model.look_at_screen:
                t_ms += rng.randint(1_000, 5_000)
                events.append(Touch(rng.choice(list(slot_ids)), t_ms, propensity=round(propensity, 3)))
    t_ms += rng.randint(10_000, 60_000)  # to the exit
    events.append(Checkout(t_ms))
    return events


__all__ = ["DEFAULT_SLOT_IDS", "PLAIN_SHOPPER", "ProductPlacement", "ShopperModel", "trace_from_order"]
