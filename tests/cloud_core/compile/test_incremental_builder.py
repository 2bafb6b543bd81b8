"""The cloud's IndexBuilder compiles incrementally by default, and its indexes are the full compile's
bytes after changes written to a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from cartads.v1 import admin_pb2
from cloud_core.compile.compiler import CompileSettings
from cloud_core.compile.incremental import IncrementalCompiler
from cloud_core.compile.store_compiler import FullCompiler, StoreCompiler
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.sync.service import IndexBuilder
from tests.cloud_core.helpers import AISLES, DEPARTMENTS, NOW, PRODUCTS, campaign, creative, line_item

STORES = ("s1", "s2")


def _builder(db: SqlCloudStore, compiler: StoreCompiler | None = None) -> IndexBuilder:
    return IndexBuilder(
        catalog=db.catalog,
        experiments=db.experiments,
        delivery=db.pacing_stats,
        carts=db.carts,
        settings=CompileSettings(),
        clock=lambda: NOW,
        compiler=compiler,
    )


async def _seed(db: SqlCloudStore) -> None:
    for store_id in STORES:
        await db.catalog.create_store(
            admin_pb2.Store(store_id=store_id, display_name=store_id, time_zone="UTC"), b"k" * 32
        )
        await db.catalog.import_catalog(store_id, AISLES, DEPARTMENTS, PRODUCTS)
    await db.advertisers.create_advertiser(admin_pb2.Advertiser(advertiser_id="acme", display_name="Acme"))
    await db.campaigns.create_creative(creative("cr1"))
    await db.campaigns.create_creative(creative("cr2", product_id="21903"))
    await db.campaigns.create_campaign(campaign("c1", start=NOW - timedelta(days=1)))
    await db.campaigns.create_line_item(line_item("li-all"))
    await db.campaigns.create_line_item(
        line_item("li-s1", targeting=admin_pb2.Targeting(store_ids=["s1"]), creative_ids=("cr2",))
    )


async def _same_as_full(db: SqlCloudStore, incremental: IndexBuilder) -> None:
    got = await incremental.build_many(list(STORES))
    want = await _builder(db, FullCompiler()).build_many(list(STORES))
    assert set(got) == set(want) == set(STORES)
    for store_id in STORES:
        assert got[store_id].SerializeToString(deterministic=True) == want[store_id].SerializeToString(
            deterministic=True
        )


async def test_builder_compiles_incrementally_after_database_changes(db_url: str) -> None:
    """A bid edit, a new store-targeted line item and a paused campaign, each written to the database:
    the default builder's indexes equal the full compile's, and it redid only the touched line items."""
    db = await SqlCloudStore.open(db_url)
    try:
        await _seed(db)
        compiler = IncrementalCompiler()
        builder = _builder(db, compiler)
        await _same_as_full(db, builder)
        edited = line_item("li-all", bid_micros=7_000_000)
        await db.campaigns.update_line_item(edited)
        redone = compiler.stats.items_redone
        await _same_as_full(db, builder)
        assert compiler.stats.items_redone - redone == len(STORES)  # li-all in each store, nothing else
        await db.campaigns.create_line_item(line_item("li-s2", targeting=admin_pb2.Targeting(store_ids=["s2"])))
        await _same_as_full(db, builder)
        await db.campaigns.update_campaign(
            campaign("c1", start=NOW - timedelta(days=1), state=admin_pb2.SERVING_STATE_PAUSED)
        )
        await _same_as_full(db, builder)
        assert compiler.stats.fresh == len(STORES)  # each store started over only at its first compile
    finally:
        await db.close()


def test_builder_compiles_incrementally_by_default() -> None:
    """Without a compiler given, the IndexBuilder's is an IncrementalCompiler (what real replicas run)."""
    builder = IndexBuilder(
        catalog=None,  # type: ignore[arg-type]
        experiments=None,  # type: ignore[arg-type]
        delivery=None,  # type: ignore[arg-type]
        carts=None,  # type: ignore[arg-type]
        settings=CompileSettings(),
    )
    assert isinstance(builder.compiler, IncrementalCompiler)
