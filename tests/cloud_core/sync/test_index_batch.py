"""IndexBuilder.build_many and CoalescingBuilder: stores compiled in one batch, each as it would be alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from cartads.v1 import admin_pb2, common_pb2, index_pb2
from cloud_core.compile.compiler import PRODUCT_FIELDS_SHARED_WITH_INDEX, CompileSettings
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.sync.service import CoalescingBuilder, IndexBuilder
from tests.cloud_core.helpers import AISLES, DEPARTMENTS, NOW, PRODUCTS, campaign, creative, line_item


def _repriced(product: admin_pb2.Product, extra_micros: int) -> admin_pb2.Product:
    out = admin_pb2.Product()
    out.CopyFrom(product)
    out.price_micros += extra_micros
    return out


# Three stores with differing catalogs: s2 prices differently and has a zone of its own, s3 lacks the
# banana (cr1's promoted product) and sits in another time zone.
CATALOGS = {
    "s1": (AISLES, PRODUCTS, "UTC"),
    "s2": (
        [admin_pb2.Aisle(aisle_id="24", display_name="fruit", zone_id="front"), AISLES[1]],
        [_repriced(p, 100_000) for p in PRODUCTS],
        "UTC",
    ),
    "s3": (AISLES, PRODUCTS[1:], "America/Chicago"),
}


@pytest.fixture
async def seeded_store(tmp_path: Path) -> AsyncIterator[SqlCloudStore]:
    """A SQLite cloud store with the three stores and line items targeted in different ways."""
    db = await SqlCloudStore.open(str(tmp_path / "cloud.sqlite3"))
    for store_id, (aisles, products, tz) in CATALOGS.items():
        await db.catalog.create_store(
            admin_pb2.Store(store_id=store_id, display_name=store_id, time_zone=tz), b"k" * 32
        )
        await db.catalog.import_catalog(store_id, aisles, DEPARTMENTS, products)
    await db.advertisers.create_advertiser(admin_pb2.Advertiser(advertiser_id="acme", display_name="Acme"))
    await db.campaigns.create_creative(creative("cr1"))
    await db.campaigns.create_creative(creative("cr2", product_id="21903"))
    await db.campaigns.create_campaign(campaign("c1", start=NOW - timedelta(days=1)))
    await db.campaigns.create_campaign(campaign("c2", budget_micros=50_000_000))
    items = [
        line_item("li-all"),
        line_item("li-s1", targeting=admin_pb2.Targeting(store_ids=["s1"]), creative_ids=("cr2",)),
        line_item("li-brand", campaign_id="c2", targeting=admin_pb2.Targeting(brands=["Organic"])),
        line_item(
            "li-trigger",
            campaign_id="c2",
            creative_ids=("cr1", "cr2"),
            targeting=admin_pb2.Targeting(triggers=[common_pb2.TRIGGER_SESSION_START], daypart_hours=[9, 10]),
        ),
        line_item("li-paused", state=admin_pb2.SERVING_STATE_PAUSED),
    ]
    items[2].pacing_type = admin_pb2.PACING_TYPE_EVEN
    items[2].daily_budget_micros = 2_000_000
    for item in items:
        await db.campaigns.create_line_item(item)
    try:
        yield db
    finally:
        await db.close()


def _builder(seeded_store: SqlCloudStore) -> IndexBuilder:
    return IndexBuilder(
        catalog=seeded_store.catalog,
        experiments=seeded_store.experiments,
        delivery=seeded_store.pacing_stats,
        carts=seeded_store.carts,
        settings=CompileSettings(),
        clock=lambda: NOW,
    )


async def test_batch_indexes_equal_single_store_compiles(seeded_store: SqlCloudStore) -> None:
    """Each store's index from build_many serializes to the same bytes as build of that store alone."""
    builder = _builder(seeded_store)
    single = {sid: await builder.build(sid) for sid in CATALOGS}
    batch = await builder.build_many(list(CATALOGS))
    assert set(batch) == set(CATALOGS)
    for store_id, index in single.items():
        assert index is not None
        assert batch[store_id].SerializeToString(deterministic=True) == index.SerializeToString(deterministic=True)
    # The stores really differ: a batch that handed one store's index to all would not pass.
    assert len({index.version for index in batch.values()}) == len(CATALOGS)
    assert [li.line_item_id for li in batch["s1"].line_items] == ["li-all", "li-brand", "li-s1", "li-trigger"]
    assert "li-s1" not in {li.line_item_id for li in batch["s2"].line_items}


async def test_batch_skips_unknown_stores(seeded_store: SqlCloudStore) -> None:
    """A store id that does not exist is left out of the batch, like build returns None for it."""
    builder = _builder(seeded_store)
    assert set(await builder.build_many(["s2", "gone"])) == {"s2"}
    assert await builder.build_many(["gone"]) == {}


class RecordingBuilder:
    """A BatchBuilder that records each batch and compiles an empty index per existing store."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.fail = fail

    async def build_many(self, store_ids: Sequence[str]) -> dict[str, index_pb2.StoreIndex]:
        self.batches.append(list(store_ids))
        if self.fail:
            raise RuntimeError("database down")
        return {sid: index_pb2.StoreIndex(store_id=sid) for sid in store_ids if sid != "gone"}


async def test_concurrent_builds_run_as_one_batch() -> None:
    """Builds requested together run as one build_many; each caller gets its own store's index."""
    inner = RecordingBuilder()
    builder = CoalescingBuilder(inner)
    got = await asyncio.gather(builder.build("s1"), builder.build("s2"), builder.build("s1"), builder.build("gone"))
    assert inner.batches == [["s1", "s2", "gone"]]
    assert [None if i is None else i.store_id for i in got] == ["s1", "s2", "s1", None]
    assert (await builder.build("s3")) is not None
    assert inner.batches[1:] == [["s3"]]


async def test_a_failed_batch_fails_each_caller() -> None:
    """When build_many raises, every build waiting on that batch raises the same error."""
    builder = CoalescingBuilder(RecordingBuilder(fail=True))
    results = await asyncio.gather(builder.build("s1"), builder.build("s2"), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


def test_product_fields_are_index_product_fields() -> None:
    """admin Product's fields are IndexProduct's first ones by number and type, so its bytes splice into the index."""
    product = admin_pb2.Product.DESCRIPTOR.fields_by_number
    index_product = index_pb2.IndexProduct.DESCRIPTOR.fields_by_number
    assert len(product) == PRODUCT_FIELDS_SHARED_WITH_INDEX
    for number, field in product.items():
        assert (field.type, field.is_repeated) == (index_product[number].type, index_product[number].is_repeated)
    row = admin_pb2.Product(product_id="p", display_name="Pear", aisle_id="1", brand="B", price_micros=9)
    spliced = index_pb2.IndexProduct.FromString(row.SerializeToString())
    assert (spliced.product_id, spliced.name, spliced.price_micros) == ("p", "Pear", 9)
