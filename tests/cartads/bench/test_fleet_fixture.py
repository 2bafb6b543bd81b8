"""The fleet's rows: each store its own catalog, national line items everywhere, local ones in one store."""

from __future__ import annotations

from datetime import UTC, datetime

from cartads.bench.fleet.fixture import FleetShape, build_fleet
from cartads.sample.instacart import Catalog, Order

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SHAPE = FleetShape(stores=3, products_per_store=200, national_line_items=12, local_line_items_per_store=2)


def test_each_store_stocks_and_prices_its_own_catalog(sample: tuple[Catalog, list[Order]]) -> None:
    """Stores hold different subsets of the real products, and a product both stock is priced apart."""
    fleet = build_fleet(FleetShape(stores=2, products_per_store=2000), sample[0], NOW)
    catalogs = [{p.product_id: p.price_micros for p in s.products} for s in fleet.stores]
    assert [len(c) for c in catalogs] == [2000, 2000]
    assert catalogs[0].keys() != catalogs[1].keys()
    shared = set(catalogs[0]) & set(catalogs[1])
    real = {p.product_id: p.price_micros for p in sample[0].products}
    assert shared
    assert sum(catalogs[0][pid] != catalogs[1][pid] for pid in shared) > len(shared) / 2
    assert all(abs(c[pid] - real[pid]) <= real[pid] * 0.16 + 10_000 for c in catalogs for pid in c)


def test_national_line_items_target_every_store_and_local_ones_their_own(sample: tuple[Catalog, list[Order]]) -> None:
    """National line items name no store; each store has its local ones, promoting products it stocks."""
    fleet = build_fleet(SHAPE, sample[0], NOW)
    national = [li for li in fleet.line_items if not li.targeting.store_ids]
    assert len(national) == 12
    assert fleet.national_line_item in national
    for own in fleet.stores:
        store_id = own.store.store_id
        local = [li for li in fleet.line_items if list(li.targeting.store_ids) == [store_id]]
        stocked = {p.product_id for p in own.products}
        assert len(local) == 2
        assert fleet.local_line_item(store_id) == local[0]
        assert all(set(li.targeting.product_ids) <= stocked for li in local)


def test_the_same_shape_builds_the_same_fleet(sample: tuple[Catalog, list[Order]]) -> None:
    """Deterministic: two builds of one shape give the same rows (runs compare like with like)."""
    assert build_fleet(SHAPE, sample[0], NOW) == build_fleet(SHAPE, sample[0], NOW)
