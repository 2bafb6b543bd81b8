"""The incremental compiler: after any sequence of changes, every store's index is byte for byte the
full compile's, and a small change redoes only what it touches."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2, common_pb2, index_pb2
from cloud_core.compile.carts import EnrolledCart
from cloud_core.compile.compiler import CompileInput, CompileSettings, compile_store_index
from cloud_core.compile.incremental import IncrementalCompiler
from cloud_core.compile.memo import MemoSettings, PartMemo
from cloud_core.delivery.leases import StoreTraffic
from cloud_core.delivery.pacing import StorePacing
from cloud_core.delivery.predictions import Prediction
from cloud_core.sync.serial_compiler import SerialCompiler
from tests.cloud_core.helpers import AISLES, NOW, PRODUCTS, campaign, creative, line_item

SETTINGS = CompileSettings(token_ttl_s=600, reserve_cpm_micros=100)
STORES = ("s1", "s2", "s3")
PRODUCT_IDS = tuple(p.product_id for p in PRODUCTS)


def _bytes(index: index_pb2.StoreIndex) -> bytes:
    return index.SerializeToString(deterministic=True)


@dataclass
class World:
    """Everything the stores' compiles read, changed one step at a time."""

    campaigns: dict[str, admin_pb2.Campaign]
    creatives: dict[str, admin_pb2.CreativeSpec]
    line_items: dict[str, admin_pb2.LineItem]
    # Per store: products and aisles (s1 and s2 start with the same catalog, a chain's).
    products: dict[str, list[admin_pb2.Product]]
    aisles: dict[str, list[admin_pb2.Aisle]]
    display_names: dict[str, str] = field(default_factory=lambda: {s: s for s in STORES})
    spend: dict[str, int] = field(default_factory=dict)
    rates: dict[str, dict[str, float]] = field(default_factory=lambda: {s: {} for s in STORES})
    done: dict[str, frozenset[str]] = field(default_factory=lambda: dict.fromkeys(STORES, frozenset()))
    predictions: dict[str, dict[str, Prediction]] = field(default_factory=lambda: {s: {} for s in STORES})
    events: dict[str, int] = field(default_factory=dict)
    layers: list[admin_pb2.ExperimentLayer] = field(default_factory=list)
    carts: dict[str, list[EnrolledCart]] = field(default_factory=lambda: {s: [] for s in STORES})
    paced: bool = True
    now: timedelta = timedelta()

    def inputs(self, store_id: str) -> CompileInput:
        """The store's compile input as the cloud's builder would make it."""
        paced = self.paced
        return CompileInput(
            store=admin_pb2.Store(store_id=store_id, display_name=self.display_names[store_id], time_zone="UTC"),
            signing_key=b"k" * 32,
            aisles=tuple(self.aisles[store_id]),
            departments=(),
            products=tuple(self.products[store_id]),
            campaigns=tuple(self.campaigns.values()),
            line_items=tuple(self.line_items.values()),
            creatives=tuple(self.creatives.values()),
            campaign_spend_micros=dict(self.spend),
            traffic=StoreTraffic(dict(self.events), frozenset(STORES)),
            pacing=StorePacing(dict(self.rates[store_id]), self.done[store_id], {}) if paced else None,
            traffic_profile=tuple([1.0 / 24] * 24) if paced else None,
            predictions=dict(self.predictions[store_id]),
            experiment_layers=tuple(self.layers),
            carts=tuple(self.carts[store_id]),
        )


def _world() -> World:
    campaigns = {c.campaign_id: c for c in (campaign("c1"), campaign("c2", budget_micros=50_000_000))}
    creatives = {c.creative_id: c for c in (creative("cr1"), creative("cr2", product_id="21903"))}
    items = {
        li.line_item_id: li
        for li in (
            line_item("li1"),
            line_item("li2", campaign_id="c2", targeting=admin_pb2.Targeting(brands=["Organic"])),
            line_item("li3", targeting=admin_pb2.Targeting(store_ids=["s1"]), creative_ids=("cr2",)),
        )
    }
    other = [admin_pb2.Product(), *PRODUCTS[1:]]
    other[0].CopyFrom(PRODUCTS[0])
    other[0].price_micros += 10_000
    return World(
        campaigns=campaigns,
        creatives=creatives,
        line_items=items,
        products={"s1": list(PRODUCTS), "s2": list(PRODUCTS), "s3": other},
        aisles={"s1": list(AISLES), "s2": list(AISLES), "s3": list(AISLES)},
    )


M = TypeVar("M", admin_pb2.LineItem, admin_pb2.Campaign, admin_pb2.CreativeSpec, admin_pb2.Product)


def _copy(m: M) -> M:
    out = type(m)()
    out.CopyFrom(m)
    return out


ids = st.sampled_from
TARGETINGS = st.one_of(
    st.just(admin_pb2.Targeting()),
    st.builds(lambda s: admin_pb2.Targeting(store_ids=s), st.lists(ids(STORES), max_size=2)),
    st.builds(lambda p: admin_pb2.Targeting(product_ids=p), st.lists(ids(PRODUCT_IDS), max_size=3)),
    st.builds(lambda b: admin_pb2.Targeting(brands=b), st.lists(ids(("Organic", "Chiquita")), max_size=2)),
    st.builds(
        lambda t, h: admin_pb2.Targeting(triggers=t, daypart_hours=h),
        st.lists(ids((common_pb2.TRIGGER_SCAN, common_pb2.TRIGGER_SESSION_START)), max_size=2),
        st.lists(st.integers(0, 23), max_size=3),
    ),
    st.builds(lambda z: admin_pb2.Targeting(aisle_ids=["24"], zone_ids=z), st.lists(ids(("zone-24", "x")))),
)


def _change(data: st.DataObject, w: World) -> str:
    """Apply one random change to ``w``; its name, for the failure message."""
    kind = data.draw(
        ids(
            (
                "bid",
                "targeting",
                "item_state",
                "item_creatives",
                "new_item",
                "delete_item",
                "campaign_state",
                "campaign_end",
                "spend",
                "creative_text",
                "creative_review",
                "creative_product",
                "price",
                "new_product",
                "drop_product",
                "aisle",
                "store_name",
                "rates",
                "done",
                "prediction",
                "traffic",
                "layer",
                "cart",
                "time",
                "pacing_off",
            )
        )
    )
    item_ids = sorted(w.line_items)
    store = data.draw(ids(STORES))
    if kind in {"bid", "targeting", "item_state", "item_creatives"} and item_ids:
        li = _copy(w.line_items[data.draw(ids(item_ids))])
        if kind == "bid":
            li.bid_micros = data.draw(st.integers(1, 20_000_000))
        elif kind == "targeting":
            li.targeting.CopyFrom(data.draw(TARGETINGS))
        elif kind == "item_state":
            li.state = data.draw(ids((admin_pb2.SERVING_STATE_ACTIVE, admin_pb2.SERVING_STATE_PAUSED)))
        else:
            li.creative_ids[:] = data.draw(st.lists(ids(sorted(w.creatives)), max_size=3))
        w.line_items[li.line_item_id] = li
    elif kind == "new_item":
        lid = f"li{data.draw(st.integers(4, 12))}"
        w.line_items[lid] = line_item(
            lid,
            campaign_id=data.draw(ids(("c1", "c2", "c-missing"))),
            bid_micros=data.draw(st.integers(1, 9_000_000)),
            targeting=data.draw(TARGETINGS),
            creative_ids=tuple(data.draw(st.lists(ids(sorted(w.creatives)), min_size=1, max_size=2))),
            pricing_model=data.draw(ids((common_pb2.PRICING_MODEL_CPM, common_pb2.PRICING_MODEL_CPC))),
        )
        if data.draw(st.booleans()):
            w.line_items[lid].pacing_type = admin_pb2.PACING_TYPE_EVEN
            w.line_items[lid].daily_budget_micros = 1_000_000
    elif kind == "delete_item" and item_ids:
        del w.line_items[data.draw(ids(item_ids))]
    elif kind == "campaign_state":
        c = _copy(w.campaigns[data.draw(ids(sorted(w.campaigns)))])
        c.state = data.draw(ids((admin_pb2.SERVING_STATE_ACTIVE, admin_pb2.SERVING_STATE_PAUSED)))
        w.campaigns[c.campaign_id] = c
    elif kind == "campaign_end":
        c = _copy(w.campaigns[data.draw(ids(sorted(w.campaigns)))])
        c.end_time.CopyFrom(dt_to_ts(NOW + timedelta(hours=data.draw(st.integers(-2, 900)))))
        w.campaigns[c.campaign_id] = c
    elif kind == "spend":
        w.spend[data.draw(ids(sorted(w.campaigns)))] = data.draw(st.integers(0, 60_000_000))
    elif kind in {"creative_text", "creative_review", "creative_product"}:
        cr = _copy(w.creatives[data.draw(ids(sorted(w.creatives)))])
        if kind == "creative_text":
            cr.headline = data.draw(st.text(max_size=8))
        elif kind == "creative_review":
            cr.review_status = data.draw(
                ids((admin_pb2.CREATIVE_REVIEW_STATUS_APPROVED, admin_pb2.CREATIVE_REVIEW_STATUS_REJECTED))
            )
        else:
            cr.promoted_product_id = data.draw(ids((*PRODUCT_IDS, "missing")))
            cr.recipe_product_ids[:] = data.draw(st.lists(ids(PRODUCT_IDS), max_size=2))
        w.creatives[cr.creative_id] = cr
    elif kind in {"price", "drop_product"} and w.products[store]:
        at = data.draw(st.integers(0, len(w.products[store]) - 1))
        if kind == "drop_product":
            del w.products[store][at]
        else:
            p = _copy(w.products[store][at])
            p.price_micros = data.draw(st.integers(0, 5_000_000))
            w.products[store][at] = p
    elif kind == "new_product":
        pid = f"p{data.draw(st.integers(0, 5))}"
        w.products[store].append(admin_pb2.Product(product_id=pid, display_name=pid, aisle_id="83", brand="Organic"))
    elif kind == "aisle":
        w.aisles[store] = [admin_pb2.Aisle(aisle_id="24", display_name=data.draw(st.text(max_size=5))), AISLES[1]]
    elif kind == "store_name":
        w.display_names[store] = data.draw(st.text(max_size=6))
    elif kind == "rates" and item_ids:
        w.rates[store] = {**w.rates[store], data.draw(ids(item_ids)): data.draw(ids((0.25, 0.5, 1.0)))}
    elif kind == "done" and item_ids:
        w.done[store] = w.done[store] ^ {data.draw(ids(item_ids))}
    elif kind == "prediction" and item_ids:
        ctr = data.draw(ids((0.01, 0.02, 0.05)))
        w.predictions[store] = {
            **w.predictions[store],
            data.draw(ids(item_ids)): Prediction(ctr, 0.001, {int(common_pb2.TRIGGER_SCAN): (ctr * 2, 0.002)}),
        }
    elif kind == "traffic":
        w.events[store] = data.draw(st.integers(0, 5_000))
    elif kind == "layer":
        w.layers = [
            admin_pb2.ExperimentLayer(
                layer_id="l1",
                salt=data.draw(ids(("a", "b"))),
                state=admin_pb2.SERVING_STATE_ACTIVE,
                arms=[admin_pb2.ExperimentArm(arm_id="x", traffic_bps=5000)],
            )
        ][: data.draw(st.integers(0, 1))]
    elif kind == "cart":
        n = len(w.carts[store])
        w.carts[store] = [*w.carts[store], EnrolledCart(f"cred-{n}", f"cart-{n}", bytes(32))]
    elif kind == "time":
        w.now += timedelta(seconds=data.draw(ids((1, 60, 900, 3600))))
    elif kind == "pacing_off":
        w.paced = not w.paced
    return kind


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_incremental_equals_full_after_every_change(data: st.DataObject) -> None:
    """Over a random sequence of changes to rows, catalogs, delivery inputs and time, each store's
    incremental index serializes to the full compile's bytes after every change."""
    world = _world()
    # A small memo too, so eviction is exercised along the way.
    tiny = data.draw(st.booleans())
    compiler = IncrementalCompiler(
        MemoSettings(max_part_bytes=2_000, max_parts=5, max_catalogs=1, max_stores=2) if tiny else None
    )
    steps = []
    for _ in range(data.draw(st.integers(1, 12))):
        steps.append(_change(data, world))
        now = NOW + world.now
        for store_id in STORES:
            inp = world.inputs(store_id)
            full = _bytes(compile_store_index(inp, SETTINGS, now))
            shared = compiler.prepare(inp.line_items, inp.campaigns, inp.creatives)
            incremental = compiler.compile(replace(inp, shared=shared), SETTINGS, now)
            assert _bytes(incremental) == full, (store_id, steps)


def test_one_line_item_edit_redoes_one_line_item() -> None:
    """After a bid change, each store's recompile looks at that line item only, and the index changes."""
    world = _world()
    compiler = IncrementalCompiler()
    before = {s: compiler.compile(world.inputs(s), SETTINGS, NOW) for s in STORES}
    li = _copy(world.line_items["li1"])
    li.bid_micros += 1
    world.line_items["li1"] = li
    redone = compiler.stats.items_redone
    after = {s: compiler.compile(world.inputs(s), SETTINGS, NOW) for s in STORES}
    assert compiler.stats.items_redone - redone == len(STORES)
    assert all(after[s].version != before[s].version for s in STORES)
    assert all(_bytes(after[s]) == _bytes(compile_store_index(world.inputs(s), SETTINGS, NOW)) for s in STORES)


def test_stores_of_a_chain_share_parts() -> None:
    """A second store with the same catalog and traffic compiles no line item or creative part again."""
    world = _world()
    compiler = IncrementalCompiler()
    compiler.compile(world.inputs("s1"), SETTINGS, NOW)
    entries, creatives = compiler.part_misses()
    compiler.compile(world.inputs("s2"), SETTINGS, NOW)
    assert compiler.part_misses() == (entries, creatives)
    compiler.compile(world.inputs("s3"), SETTINGS, NOW)  # another catalog: its creatives are its own
    assert compiler.part_misses()[1] > creatives


def test_hostile_rows_compile_as_the_full_compile() -> None:
    """Repeated creative ids and targeting keys, unknown campaigns and creatives, an empty store id
    and a creative promoting a missing product give the full compile's bytes, not a crash."""
    world = _world()
    world.line_items["li-odd"] = line_item(
        "li-odd",
        creative_ids=("cr1", "cr1", "nope", "cr2"),
        targeting=admin_pb2.Targeting(brands=["Organic", "Organic"], product_ids=["x", "x"]),
    )
    world.line_items["li-orphan"] = line_item("li-orphan", campaign_id="ghost")
    world.creatives["cr2"].promoted_product_id = "missing"
    compiler = IncrementalCompiler()
    for inp in (world.inputs("s1"), replace(world.inputs("s2"), store=admin_pb2.Store())):
        for _ in range(2):  # the fresh compile and the patched one
            assert _bytes(compiler.compile(inp, SETTINGS, NOW)) == _bytes(compile_store_index(inp, SETTINGS, NOW))


def test_part_memo_keeps_its_limits() -> None:
    """The memo drops its least recently used parts beyond its entry and byte limits."""
    memo: PartMemo[str] = PartMemo(max_entries=3, max_bytes=10)
    for key in "abc":
        memo.get(key, lambda: b"xx")
    memo.get("a", lambda: b"never")  # a hit: "a" is now the most recent
    memo.get("d", lambda: b"xx")
    assert len(memo) == 3
    assert memo.get("b", lambda: b"new") == b"new"  # "b" was the oldest, and was dropped
    memo.get("e", lambda: b"y" * 9)
    assert memo.size_bytes <= 10
    assert memo.get("a", lambda: b"again") == b"again"


def test_threads_compiling_at_once_get_the_full_compiles() -> None:
    """Stores compiled from several threads at once through the builder's lock (replicas compile in
    worker threads) each get the full compile's bytes."""
    world = _world()
    compiler = SerialCompiler(IncrementalCompiler())
    inputs = [world.inputs(s) for s in STORES] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda inp: _bytes(compiler.compile(inp, SETTINGS, NOW)), inputs))
    assert got == [_bytes(compile_store_index(inp, SETTINGS, NOW)) for inp in inputs]
