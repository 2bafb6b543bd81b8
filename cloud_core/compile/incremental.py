"""Incremental compile: a store's index patched from its last compile, byte for byte the index
``compile_store_index`` makes from the same inputs. Pure (plain values and ``now`` in, an index out;
the memory of past compiles is the only state, and it only saves work).

The index is assembled as its own deterministic serialization, field by field in number order, from
parts serialized once:

- a line item's entry, keyed by its template (its rows), its campaign's lease in the store, its
  predicted rates and its pacing part; a creative's, by its spec and the store's catalog; a catalog's
  products, by the catalog's rows. These are shared by every store: the stores of a chain with the
  same catalog and the same traffic share each other's work.
- per store, its last compile: which line items were live, their entries, its postings and
  creatives. A recompile works out what could differ (line items whose rows changed, campaigns whose
  spend, liveness or lease inputs changed, line items whose pacing rate or predictions changed) and
  redoes only those; anything store-wide that changed (the store's row, the lease window, traffic,
  settings, the catalog) starts the store over from the shared parts.

The version is the hash of the assembled bytes (what ``content_version`` hashes, without serializing
the index again), and the index is parsed from them (its products copied from the catalog's parsed
list). What stays per store is thus mostly fixed: hashing and parsing the index, and comparing the
store's catalog rows with its last compile's.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from cartads.time_units import dt_to_us
from cartads.v1 import admin_pb2, index_pb2
from cloud_core.compile.assemble import assemble_index, canonical_entry, products_section, store_creative
from cloud_core.compile.compiler import (
    CompileInput,
    CompileSettings,
    _lease_fields,
    _part,
    _prediction_part,
    campaign_live,
    pacing_factor,
)
from cloud_core.compile.memo import MemoSettings, PartMemo
from cloud_core.compile.shared_memo import SharedInterner
from cloud_core.compile.store_state import (
    CampaignFacts,
    CatalogKey,
    StoreContext,
    StoreState,
    is_live,
    place,
    posting_part,
    touch,
)
from cloud_core.compile.templates import ServableItem, SharedCompile
from cloud_core.delivery.leases import lease_window
from cloud_core.delivery.pacing import shipped_rate
from cloud_core.delivery.predictions import Prediction

# Catalogs whose products are also kept parsed (a few megabytes each at 10,000 products).
_PRODUCT_PROTOS = 8

_PRIOR_PREDICTION = _prediction_part(None)


@dataclass(frozen=True, slots=True)
class _Round:
    """One compile's inputs, as the parts of its line items read them."""

    inp: CompileInput
    shared: SharedCompile
    settings: CompileSettings
    now_us: int
    rates: Mapping[str, float] | None
    predictions: Mapping[str, Prediction]


@dataclass
class CompileStats:
    """What the compiler did, for tests and benchmarks."""

    compiles: int = 0
    # Compiles that started a store over (no last compile, or a store-wide input changed).
    fresh: int = 0
    # Line items looked at again (recompiled or dropped) over all compiles.
    items_redone: int = 0


class IncrementalCompiler:
    """``compile_store_index`` that remembers, shared by every store and batch. One call at a time:
    the cloud's builder calls it from worker threads through a lock (cloud_core/sync/serial_compiler.py)."""

    def __init__(self, settings: MemoSettings | None = None) -> None:
        self._settings = settings or MemoSettings()
        s = self._settings
        self._shared = SharedInterner(max_items=s.max_line_items, max_template_bytes=s.max_part_bytes // 8)
        self._entries: PartMemo[tuple[bytes, bytes, bytes, bytes]] = PartMemo(
            max_entries=s.max_parts, max_bytes=s.max_part_bytes // 2
        )
        self._creatives: PartMemo[tuple[int, bytes, bytes]] = PartMemo(
            max_entries=s.max_parts, max_bytes=s.max_part_bytes // 8
        )
        self._product_sections: PartMemo[int] = PartMemo(max_entries=s.max_catalogs, max_bytes=s.max_part_bytes // 4)
        self._product_protos: OrderedDict[int, index_pb2.StoreIndex] = OrderedDict()
        # Catalog rows -> a number naming them, so parts key on a small int, not a megabyte of rows.
        self._catalog_ids: OrderedDict[CatalogKey, int] = OrderedDict()
        self._catalog_keys: dict[int, CatalogKey] = {}
        self._next_catalog = 0
        self._stores: OrderedDict[str, StoreState] = OrderedDict()
        # The campaigns' facts of the last (shared, now, spend) asked: a batch's stores share them.
        self._last_facts: tuple[SharedCompile, int, bool, Mapping[str, int], dict[str, CampaignFacts]] | None = None
        self._last_campaign_changes: (
            tuple[Mapping[str, CampaignFacts], Mapping[str, CampaignFacts], frozenset[str]] | None
        ) = None
        self._pacing_parts: dict[float, bytes] = {}
        # Posting lists by key and line item ids: the stores with the same live line items share them.
        self._postings: PartMemo[tuple[str, tuple[str, ...]]] = PartMemo(
            max_entries=s.max_parts, max_bytes=s.max_part_bytes // 8
        )
        self._last_users: tuple[SharedCompile, dict[str, list[str]], dict[str, list[str]]] | None = None
        self.stats = CompileStats()

    def prepare(
        self,
        line_items: Sequence[admin_pb2.LineItem],
        campaigns: Sequence[admin_pb2.Campaign],
        creatives: Sequence[admin_pb2.CreativeSpec],
    ) -> SharedCompile:
        """``prepare_shared`` of these rows, reusing what earlier calls prepared (pass it as CompileInput.shared)."""
        return self._shared.prepare(line_items, campaigns, creatives)

    def part_misses(self) -> tuple[int, int]:
        """Line item entries and creative entries compiled so far (not found in the memo)."""
        return self._entries.misses, self._creatives.misses

    def compile(self, inp: CompileInput, settings: CompileSettings, now: datetime) -> index_pb2.StoreIndex:
        """The store's index at ``now``: equal, byte for byte, to ``compile_store_index(inp, settings, now)``."""
        now_us = dt_to_us(now)
        shared = inp.shared
        if (
            shared is None
            or shared.keys is None
            or not (
                shared.line_items is inp.line_items
                and shared.campaigns is inp.campaigns
                and shared.creatives is inp.creatives
            )
        ):
            shared = self._shared.prepare(inp.line_items, inp.campaigns, inp.creatives)
        store_id = inp.store.store_id
        state = self._stores.pop(store_id, None)
        catalog, catalog_key = self._catalog_id(inp, state)
        context = StoreContext(
            store=inp.store.SerializeToString(deterministic=True),
            lease_window=lease_window(now_us, settings.lease.lease_period_s)[0],
            settings=settings,
            traffic=inp.traffic,
            paced=inp.pacing is not None,
            profile=tuple(inp.traffic_profile) if inp.traffic_profile is not None else None,
            catalog=catalog,
        )
        self.stats.compiles += 1
        if state is None or state.context != context:
            state = StoreState(context, catalog_key)
            self.stats.fresh += 1
        self._stores[store_id] = state
        while len(self._stores) > self._settings.max_stores:
            self._stores.popitem(last=False)
        self._patch(state, inp, shared, settings, now_us)
        return assemble_index(state, inp, settings, now, self._products(state.context.catalog, inp))

    def _catalog_id(self, inp: CompileInput, state: StoreState | None) -> tuple[int, CatalogKey]:
        """The number naming the store's catalog rows, and the rows' key as held (shared by its stores)."""
        key = (
            tuple(map(admin_pb2.Product.SerializeToString, inp.products)),
            tuple(map(admin_pb2.Aisle.SerializeToString, inp.aisles)),
        )
        # The store's catalog as last time: compared, not hashed (the common case, and cheaper). A
        # number is never reused, so it still names these rows even once the memo forgot them.
        if state is not None and state.catalog_key == key:
            return state.context.catalog, state.catalog_key
        found = self._catalog_ids.get(key)
        if found is None:
            found = self._catalog_ids[key] = self._next_catalog
            self._catalog_keys[found] = key
            self._next_catalog += 1
            while len(self._catalog_ids) > self._settings.max_catalogs:
                _, dropped = self._catalog_ids.popitem(last=False)
                del self._catalog_keys[dropped]
        else:
            self._catalog_ids.move_to_end(key)
        return found, self._catalog_keys[found]

    def _facts(self, shared: SharedCompile, inp: CompileInput, now_us: int) -> dict[str, CampaignFacts]:
        paced = inp.pacing is not None
        spend = inp.campaign_spend_micros
        last = self._last_facts
        if last is not None and last[0] is shared and last[1] == now_us and last[2] == paced and last[3] == spend:
            return last[4]
        assert shared.keys is not None
        facts: dict[str, CampaignFacts] = {}
        for cid in shared.keys.servable_by_campaign:
            campaign = shared.keys.servable_by_id[shared.keys.servable_by_campaign[cid][0]].campaign
            factor = None if paced else _part({"pacing_factor": pacing_factor(campaign, spend, now_us)})
            facts[cid] = (
                shared.keys.campaign_bytes[cid],
                spend.get(cid, 0),
                campaign_live(campaign, now_us, spend),
                factor,
                shared.targets.get(cid, frozenset()),
                shared.kinds.get(cid, frozenset()) if paced else frozenset(),
            )
        self._last_facts = (shared, now_us, paced, dict(spend), facts)
        return facts

    def _dirty(
        self, state: StoreState, inp: CompileInput, shared: SharedCompile, facts: Mapping[str, CampaignFacts]
    ) -> set[str]:
        """The line items whose entry, or whether they are live, may differ from the store's last compile."""
        assert shared.keys is not None
        old = state.shared
        if old is None or old.keys is None:
            return set(shared.keys.servable_by_id)
        dirty = set(self._shared.changes(old, shared).line_item_ids)
        if state.facts is not facts:
            for cid in self._changed_campaigns(state.facts, facts):
                state.leases.pop(cid, None)
                dirty.update(old.keys.servable_by_campaign.get(cid, ()))
                dirty.update(shared.keys.servable_by_campaign.get(cid, ()))
        rates = inp.pacing.rates if inp.pacing is not None else None
        if rates is not state.rates and rates != state.rates:
            a, b = state.rates or {}, rates or {}
            dirty.update(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        done = inp.pacing.done_today if inp.pacing is not None else frozenset()
        dirty.update(done ^ state.done)
        predictions = inp.predictions or {}
        if predictions is not state.predictions and predictions != state.predictions:
            a2, b2 = state.predictions, predictions
            dirty.update(k for k in a2.keys() | b2.keys() if a2.get(k) != b2.get(k))
        return dirty

    def _changed_campaigns(
        self, before: Mapping[str, CampaignFacts], after: Mapping[str, CampaignFacts]
    ) -> frozenset[str]:
        """The campaigns whose facts differ; the last pair's answer kept, as every store of a batch asks it."""
        last = self._last_campaign_changes
        if last is not None and last[0] is before and last[1] is after:
            return last[2]
        changed = frozenset(cid for cid in before.keys() | after.keys() if before.get(cid) != after.get(cid))
        self._last_campaign_changes = (before, after, changed)
        return changed

    def _patch(
        self, state: StoreState, inp: CompileInput, shared: SharedCompile, settings: CompileSettings, now_us: int
    ) -> None:
        assert shared.keys is not None
        facts = self._facts(shared, inp, now_us)
        dirty = self._dirty(state, inp, shared, facts)
        old_items = state.shared.keys.servable_by_id if state.shared is not None and state.shared.keys else {}
        new_items = shared.keys.servable_by_id
        touched_keys: set[str] = set()
        touched_creatives: set[str] = set()
        if state.shared is not None and state.shared is not shared:
            touched_creatives.update(self._shared.changes(state.shared, shared).creative_ids)
        store_id = inp.store.store_id
        done = inp.pacing.done_today if inp.pacing is not None else frozenset()
        predictions = inp.predictions or {}
        rates = inp.pacing.rates if inp.pacing is not None else None
        self.stats.items_redone += len(dirty)
        round_ = _Round(inp, shared, settings, now_us, rates, predictions)
        for lid in sorted(dirty):
            at = bisect_left(state.ids, lid)
            if at < len(state.ids) and state.ids[at] == lid:
                del state.ids[at]
                del state.entries[at]
                gone = old_items[lid]
                touch(gone, touched_keys, touched_creatives)
            entry = new_items.get(lid)
            if entry is None:
                continue
            fact = facts[entry.campaign.campaign_id]
            if not fact[2] or not entry.active or (entry.store_ids and store_id not in entry.store_ids):
                continue
            if lid in done:
                continue  # spent its part of today's budget in this store
            part = self._entry(state, round_, entry, fact)
            at = bisect_left(state.ids, lid)
            state.ids.insert(at, lid)
            state.entries.insert(at, part)
            touch(entry, touched_keys, touched_creatives)
        users = self._users(shared)
        self._refresh_postings(state, users[0], touched_keys)
        self._refresh_creatives(state, inp, shared, users[1], touched_creatives)
        state.shared, state.facts, state.rates, state.done, state.predictions = shared, facts, rates, done, predictions

    def _entry(self, state: StoreState, r: _Round, entry: ServableItem, fact: CampaignFacts) -> bytes:
        inp, shared = r.inp, r.shared
        campaign = entry.campaign
        cid = campaign.campaign_id
        lease = state.leases.get(cid)
        if lease is None:
            kinds = shared.kinds if inp.pacing is not None else {}
            lease = state.leases[cid] = _part(
                _lease_fields(
                    inp,
                    shared.targets.get(cid, frozenset()),
                    campaign,
                    r.settings,
                    r.now_us,
                    kinds=kinds.get(cid, frozenset()),
                )
            )
        if r.rates is None:
            assert fact[3] is not None
            pacing = fact[3]
        else:
            rate = r.rates.get(entry.line_item_id, 1.0)
            pacing = self._pacing_parts.get(rate) or self._pacing_part(rate)
        found = r.predictions.get(entry.line_item_id)
        prediction = _PRIOR_PREDICTION if found is None else _prediction_part(found)
        key = (entry.template, lease, prediction, pacing)
        return self._entries.get(key, lambda: canonical_entry(*key))

    def _pacing_part(self, rate: float) -> bytes:
        if len(self._pacing_parts) > 4096:
            self._pacing_parts.clear()
        part = self._pacing_parts[rate] = _part({"pacing_factor": 1.0, "pass_through_rate": shipped_rate(rate)})
        return part

    def _users(self, shared: SharedCompile) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Per posting key and per creative, the servable line items (in id order) that carry it."""
        last = self._last_users
        if last is not None and last[0] is shared:
            return last[1], last[2]
        postings: dict[str, list[str]] = {}
        creatives: dict[str, list[str]] = {}
        for entry in shared.servable:
            lid = entry.line_item_id
            for key in dict.fromkeys(entry.posting_keys):
                postings.setdefault(key, []).append(lid)
            for cid in dict.fromkeys(cid for cid, _ in entry.creatives_by_id):
                creatives.setdefault(cid, []).append(lid)
        self._last_users = (shared, postings, creatives)
        return postings, creatives

    def _refresh_postings(self, state: StoreState, users: Mapping[str, list[str]], keys: Iterable[str]) -> None:
        for key in keys:
            ids = tuple(lid for lid in users.get(key, ()) if is_live(state, lid))
            part = self._postings.get((key, ids), partial(posting_part, key, ids)) if ids else None
            place(state.posting_keys, state.posting_parts, key, part)

    def _refresh_creatives(
        self,
        state: StoreState,
        inp: CompileInput,
        shared: SharedCompile,
        users: Mapping[str, list[str]],
        creatives: Iterable[str],
    ) -> None:
        assert shared.keys is not None
        catalog = state.context.catalog
        rows: list[tuple[dict[str, admin_pb2.Product], dict[str, admin_pb2.Aisle]]] = []

        def catalog_rows() -> tuple[dict[str, admin_pb2.Product], dict[str, admin_pb2.Aisle]]:
            if not rows:  # built only when some creative is not in the memo
                rows.append(({p.product_id: p for p in inp.products}, {a.aisle_id: a for a in inp.aisles}))
            return rows[0]

        for cid in creatives:
            part = None
            if any(is_live(state, lid) for lid in users.get(cid, ())):
                template = shared.creative_templates[cid]
                part = self._creatives.get(
                    (catalog, shared.keys.creative_bytes[cid], template),
                    partial(store_creative, template, shared.keys.approved[cid], catalog_rows),
                )
            place(state.creative_ids, state.creative_parts, cid, part)

    def _products(self, catalog: int, inp: CompileInput) -> tuple[bytes, index_pb2.StoreIndex]:
        """The catalog's products as the index writes them, and parsed (kept for a few catalogs)."""
        products = self._product_sections.get(catalog, lambda: products_section(inp))
        proto = self._product_protos.get(catalog)
        if proto is None:
            proto = self._product_protos[catalog] = index_pb2.StoreIndex.FromString(products)
            while len(self._product_protos) > _PRODUCT_PROTOS:
                self._product_protos.popitem(last=False)
        else:
            self._product_protos.move_to_end(catalog)
        return products, proto
