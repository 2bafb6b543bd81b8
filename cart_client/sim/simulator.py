"""The store simulator's core: real Instacart orders become sensor traces of shopping trips.

Deterministic given the seed: the same orders are chosen and each trip's trace is generated from
its own seed derived from the run's seed and the trip's position.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from cart_client.sensors.trace import SensorEvent
from cart_client.sim.trip_trace import ProductPlacement, ShopperModel, trace_from_order
from cart_client.trip.catalog import in_store_barcode
from cartads.sample.instacart import Catalog, Order


@dataclass(frozen=True, slots=True)
class SimulatedTrip:
    """One replayable trip: the real order it came from and its sensor trace."""

    order_id: str
    events: tuple[SensorEvent, ...]

    @property
    def file_name(self) -> str:
        """The trace's file name in a simulator output directory."""
        return f"trip-{self.order_id}.jsonl"


def store_layout(catalog: Catalog, *, barcodes: bool = True) -> tuple[dict[str, ProductPlacement], list[str]]:
    """Each product's placement (zone = its aisle) and the walking order of zones (aisle order).

    With ``barcodes`` the scanner reads the in-store EAN-13 labels the cart's catalog resolves.
    """
    zone_of = {a.aisle_id: a.zone_id for a in catalog.aisles}
    placements = {
        p.product_id: ProductPlacement(
            product_id=p.product_id,
            zone_id=zone_of.get(p.aisle_id, f"zone-{p.aisle_id}"),
            weight_g=float(p.weight_g),
            code=in_store_barcode(p.product_id) if barcodes and p.product_id.isdigit() else "",
        )
        for p in catalog.products
    }
    zone_order = [a.zone_id for a in sorted(catalog.aisles, key=lambda a: int(a.aisle_id))]
    return placements, zone_order


def simulate(
    orders: Sequence[Order],
    catalog: Catalog,
    *,
    count: int,
    seed: int,
    click_probability: float = 0.15,
    shopper: ShopperModel | None = None,
    barcodes: bool = True,
) -> list[SimulatedTrip]:
    """``count`` trips from a seeded sample of ``orders`` (all of them when there are fewer)."""
    if count < 0:
        raise ValueError("count must not be negative")
    chosen = random.Random(seed).sample(list(orders), min(count, len(orders)))
    placements, zone_order = store_layout(catalog, barcodes=barcodes)
    return [
        SimulatedTrip(
            order.order_id,
            tuple(
                trace_from_order(
                    order.product_ids,
                    placements,
                    zone_order,
                    random.Random(seed * 1_000_003 + position),
                    click_probability,
                    shopper=shopper,
                )
            ),
        )
        for position, order in enumerate(chosen)
    ]


__all__ = ["SimulatedTrip", "simulate", "store_layout"]
