"""The index compiler: one store's campaigns and catalog in, that store's StoreIndex out. Pure.

Each entry is spliced from serialized parts (``templates``: what every store repeats; here: what
this store adds) and the whole index parsed once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cartads.cart_limits import PerCartLimits, limits_to_pb
from cartads.index.version import content_version
from cartads.ivt import IvtPolicy, policy_to_pb
from cartads.protowire import LEN, delimited, field_key, varint
from cartads.store_time import store_zone
from cartads.time_units import dt_to_ts, dt_to_us, ts_to_us, us_to_ts
from cartads.v1 import admin_pb2, common_pb2, index_pb2
from cloud_core.compile.carts import EnrolledCart, index_carts
from cloud_core.compile.creative_index import aisle_hint, creative_asset_fields, image_sha256
from cloud_core.compile.experiment_rules import index_layers
from cloud_core.compile.templates import ServableItem, SharedCompile, prepare_shared
from cloud_core.delivery.leases import LeaseSettings, StoreTraffic, lease_for, lease_window, pacing_fraction
from cloud_core.delivery.pacing import (
    PacingSettings,
    PacingType,
    StorePacing,
    shipped_rate,
    window_fraction,
)
from cloud_core.delivery.predictions import PRIOR_CTR, PRIOR_CVR, Prediction, PredictionSettings, shipped

# A campaign far ahead of its budget schedule still bids at a tenth of its value, never zero, so
# that it keeps learning click rates and the schedule can catch up.
MIN_PACING_FACTOR = 0.1


@dataclass(frozen=True)
class CompileSettings:
    """Cloud-wide settings that go into every store's index."""

    token_ttl_s: int = 7200
    reserve_cpm_micros: int = 0
    # Per cart session (trip): most ads shown, and least time between two ad decisions; 0 = none.
    max_ads_per_trip: int = 0
    min_ad_interval_ms: int = 0
    lease: LeaseSettings = field(default_factory=LeaseSettings)
    pacing: PacingSettings = field(default_factory=PacingSettings)
    predictions: PredictionSettings = field(default_factory=PredictionSettings)
    # Carried to the edge as they are: what one cart may ask, and the invalid traffic thresholds.
    cart_limits: PerCartLimits = field(default_factory=PerCartLimits)
    ivt_policy: IvtPolicy = field(default_factory=IvtPolicy)


@dataclass(frozen=True)
class CompileInput:
    """Plain values the compiler reads for one store."""

    store: admin_pb2.Store
    # The store's shared tracking token key: no longer compiled into the index (each edge signs with
    # its own key, registered with the cloud), so an index or an edge's disk bills for no other edge.
    signing_key: bytes
    aisles: Sequence[admin_pb2.Aisle]
    departments: Sequence[admin_pb2.Department]
    products: Sequence[admin_pb2.Product]
    campaigns: Sequence[admin_pb2.Campaign]
    line_items: Sequence[admin_pb2.LineItem]
    creatives: Sequence[admin_pb2.CreativeSpec]
    campaign_spend_micros: Mapping[str, int]
    # Recent events per store, for the traffic share of budget leases; None: this store alone.
    traffic: StoreTraffic | None = None
    # Budget pacing (cloud_core/delivery/pacing.py): pass-through rates and line items done for today.
    # None (no pacing state, e.g. a bare compile) falls back to the flight-level ``pacing_factor``.
    pacing: StorePacing | None = None
    # Experiment layers (cloud_core/compile/experiment_rules.py); only the active ones are compiled in.
    experiment_layers: Sequence[admin_pb2.ExperimentLayer] = ()
    # The store's hourly traffic profile (cloud_core/delivery/traffic_profile.py): EVEN campaigns' leases
    # follow it; None keeps leases flat over the flight.
    traffic_profile: Sequence[float] | None = None
    # Learned rates per line item id (cloud_core/delivery/predictions.py); the priors for the others.
    predictions: Mapping[str, Prediction] | None = None
    # The store's enrolled carts: only their credentials' digests go into the index.
    carts: Sequence[EnrolledCart] = ()
    # What the compile derives from the cloud-wide rows alone (prepare_shared); None derives it here.
    # Compiling many stores passes one, so it is derived once for all of them.
    shared: SharedCompile | None = None


def zone_of(aisle: admin_pb2.Aisle) -> str:
    """The zone an aisle is in: its own, or "zone-<aisle_id>" by default."""
    return aisle.zone_id or f"zone-{aisle.aisle_id}"


def remaining_budget_micros(campaign: admin_pb2.Campaign, spend_micros: Mapping[str, int]) -> int:
    """Budget not yet spent, never below zero."""
    return max(0, campaign.budget_micros - spend_micros.get(campaign.campaign_id, 0))


def campaign_live(campaign: admin_pb2.Campaign, now_us: int, spend_micros: Mapping[str, int]) -> bool:
    """Active, not yet ended (it may start later), with budget left: its line items may be compiled in."""
    return (
        campaign.state == admin_pb2.SERVING_STATE_ACTIVE
        and ts_to_us(campaign.end_time) > now_us
        and remaining_budget_micros(campaign, spend_micros) > 0
    )


def pacing_factor(campaign: admin_pb2.Campaign, spend_micros: Mapping[str, int], now_us: int) -> float:
    """Below 1 when the campaign has spent a larger share of its budget than of its flight.

    A campaign on or behind schedule bids its full value; one ahead of it is slowed in proportion
    to how far ahead it is, so its budget lasts the flight instead of running out early.
    """
    start_us, end_us = ts_to_us(campaign.start_time), ts_to_us(campaign.end_time)
    if campaign.budget_micros <= 0 or end_us <= start_us or now_us <= start_us:
        return 1.0
    elapsed = min(1.0, (now_us - start_us) / (end_us - start_us))
    spent = min(1.0, spend_micros.get(campaign.campaign_id, 0) / campaign.budget_micros)
    if spent <= elapsed or elapsed >= 1.0:
        return 1.0
    return max(MIN_PACING_FACTOR, (1.0 - spent) / (1.0 - elapsed))


# admin Product's fields 1-6 are IndexProduct's 1-6 (display_name is name), number for number and
# type for type (tests/cloud_core/sync/test_index_batch.py checks it): a Product's bytes are an IndexProduct's.
PRODUCT_FIELDS_SHARED_WITH_INDEX = 6


def _index_products(inp: CompileInput) -> bytes:
    """The index's products, serialized as StoreIndex.products entries: each the catalog row's own
    bytes followed by its aisle's zone and name (encoded once per aisle), sorted by product id."""
    aisles = {a.aisle_id: a for a in inp.aisles}
    by_aisle: dict[str, bytes] = {}
    parts = []
    for p in sorted(inp.products, key=lambda p: p.product_id):
        extra = by_aisle.get(p.aisle_id)
        if extra is None:
            aisle = aisles.get(p.aisle_id)
            extra = by_aisle[p.aisle_id] = index_pb2.IndexProduct(
                zone_id=zone_of(aisle) if aisle is not None else f"zone-{p.aisle_id}",
                aisle_name=aisle.display_name if aisle is not None else "",
            ).SerializeToString()
        body = p.SerializeToString() + extra
        parts.append(delimited(_PRODUCT_TAG, body))
    return b"".join(parts)


def _creative_store_part(
    spec: admin_pb2.CreativeSpec, products: Mapping[str, admin_pb2.Product], aisles: Mapping[str, admin_pb2.Aisle]
) -> bytes:
    """The index Creative's fields from this store's catalog (where, price, card, recipe), serialized."""
    product = products.get(spec.promoted_product_id)
    hint, price = "", 0
    if product is not None:
        price = product.price_micros
        hint = aisle_hint(product, aisles)
    if not spec.recipe_product_ids:  # most creatives: no recipe items to look up
        return common_pb2.Creative(
            location_hint=hint, price_micros=price, image_asset_sha256=image_sha256(spec, products)
        ).SerializeToString()
    return common_pb2.Creative(
        location_hint=hint, price_micros=price, **creative_asset_fields(spec, products, aisles)
    ).SerializeToString()


def _postings(items: Iterable[tuple[str, Iterable[str]]]) -> list[index_pb2.PostingList]:
    lists: dict[str, set[str]] = defaultdict(set)
    for line_item_id, keys in items:
        for key in keys:
            lists[key].add(line_item_id)
    return [index_pb2.PostingList(key=k, line_item_ids=sorted(v)) for k, v in sorted(lists.items())]


def _lease_fraction(
    inp: CompileInput,
    campaign: admin_pb2.Campaign,
    settings: CompileSettings,
    now_us: int,
    kinds: frozenset[PacingType],
) -> float | None:
    """With pacing: an EVEN campaign's window follows the traffic profile, an ASAP one may use all.

    A campaign with any ASAP line item is ASAP for its lease (its EVEN line items are still throttled).
    An EVEN window never gets less than flat even pacing would give it: the throttle sets the pace,
    the lease only bounds what an offline store can spend, and a quiet hour's tiny plan must not
    starve the few requests it does get.
    """
    if inp.pacing is None or inp.traffic_profile is None:
        return None
    if PacingType.ASAP in kinds:
        return 1.0
    _, start_us, end_us = lease_window(now_us, settings.lease.lease_period_s)
    flight_end_us = ts_to_us(campaign.end_time)
    by_traffic = window_fraction(
        window_start_us=start_us,
        window_end_us=end_us,
        flight_end_us=flight_end_us,
        profile=inp.traffic_profile,
        tz=store_zone(inp.store.time_zone),
        headroom=settings.pacing.allowance_headroom,
    )
    return max(by_traffic, pacing_fraction(start_us, settings.lease.lease_period_s, flight_end_us))


def _pacing_fields(
    inp: CompileInput, item: admin_pb2.LineItem, campaign: admin_pb2.Campaign, now_us: int
) -> dict[str, Any]:
    """The throttle's pass-through rate; with it, ranking is not also shaded (pacing_factor 1)."""
    if inp.pacing is None:
        return {"pacing_factor": pacing_factor(campaign, inp.campaign_spend_micros, now_us)}
    return {"pacing_factor": 1.0, "pass_through_rate": shipped_rate(inp.pacing.rates.get(item.line_item_id, 1.0))}


def _prediction_part(found: Prediction | None) -> bytes:
    return _part(_prediction_fields(found))


def _part(fields: Mapping[str, Any]) -> bytes:
    """``fields`` of an IndexLineItem, serialized: one part of a spliced entry."""
    return index_pb2.IndexLineItem(**fields).SerializeToString()


# StoreIndex's repeated message fields that each spliced entry is written to.
_LINE_ITEM_TAG = field_key(index_pb2.StoreIndex.LINE_ITEMS_FIELD_NUMBER, LEN)
_PRODUCT_TAG = field_key(index_pb2.StoreIndex.PRODUCTS_FIELD_NUMBER, LEN)
_CREATIVE_TAG = field_key(index_pb2.StoreIndex.CREATIVES_FIELD_NUMBER, LEN)


def _prediction_fields(found: Prediction | None) -> dict[str, Any]:
    if found is None:
        return {"predicted_ctr": PRIOR_CTR, "predicted_cvr": PRIOR_CVR}
    return {
        "predicted_ctr": shipped(found.ctr),
        "predicted_cvr": shipped(found.cvr),
        "trigger_rates": [
            index_pb2.TriggerRates(trigger=t, predicted_ctr=shipped(ctr), predicted_cvr=shipped(cvr))  # type: ignore[arg-type]
            for t, (ctr, cvr) in sorted(found.by_trigger.items())
        ],
    }


def _lease_fields(
    inp: CompileInput,
    targeted: frozenset[str],
    campaign: admin_pb2.Campaign,
    settings: CompileSettings,
    now_us: int,
    *,
    kinds: frozenset[PacingType],
) -> dict[str, Any]:
    """budget_allowance_micros and its lease (cloud_core/delivery/leases.py): the campaign's, for this store.

    Every line item of a campaign carries the same allowance and lease; the edge compares it with
    the campaign's local spend under that lease, since the budget belongs to the campaign.
    """
    lease = lease_for(
        store_id=inp.store.store_id,
        remaining_budget_micros=remaining_budget_micros(campaign, inp.campaign_spend_micros),
        flight_end_us=ts_to_us(campaign.end_time),
        targeted_store_ids=targeted,
        now_us=now_us,
        settings=settings.lease,
        traffic=inp.traffic or StoreTraffic(store_ids=frozenset({inp.store.store_id})),
        fraction=_lease_fraction(inp, campaign, settings, now_us, kinds),
    )
    return {
        "budget_allowance_micros": lease.allowance_micros,
        "budget_lease_id": lease.lease_id,
        "budget_lease_expire_time": us_to_ts(lease.expire_us),
    }


def _live_items(inp: CompileInput, shared: SharedCompile, now_us: int) -> list[ServableItem]:
    """The servable line items live in this store now: active, serving this store, their campaign
    live (campaign_live), and not done for today."""
    store_id = inp.store.store_id
    live: list[ServableItem] = []
    # Decided once per campaign, not per line item.
    live_campaigns: dict[str, bool] = {}
    done_today = inp.pacing.done_today if inp.pacing is not None else frozenset()
    for entry in shared.servable:
        campaign = entry.campaign
        ok = live_campaigns.get(campaign.campaign_id)
        if ok is None:
            ok = live_campaigns[campaign.campaign_id] = campaign_live(campaign, now_us, inp.campaign_spend_micros)
        if not ok or not entry.active or (entry.store_ids and store_id not in entry.store_ids):
            continue
        if entry.line_item_id in done_today:
            continue  # spent its part of today's budget in this store
        live.append(entry)
    return live


def store_settings(inp: CompileInput, settings: CompileSettings) -> index_pb2.StoreSettings:
    """The index's store-wide settings (one definition: the incremental compiler's bytes must match)."""
    return index_pb2.StoreSettings(
        time_zone=inp.store.time_zone,
        token_ttl_s=settings.token_ttl_s,
        reserve_cpm_micros=settings.reserve_cpm_micros,
        display_name=inp.store.display_name,
        max_ads_per_trip=settings.max_ads_per_trip,
        min_ad_interval_ms=settings.min_ad_interval_ms,
        cart_limits=limits_to_pb(settings.cart_limits),
        ivt_policy=policy_to_pb(settings.ivt_policy),
    )


def compile_store_index(inp: CompileInput, settings: CompileSettings, now: datetime) -> index_pb2.StoreIndex:
    """The store's index at ``now``: its live line items, their creatives, its catalog and postings."""
    now_us = dt_to_us(now)
    store_id = inp.store.store_id
    shared = inp.shared
    if shared is None or not (
        shared.line_items is inp.line_items and shared.campaigns is inp.campaigns and shared.creatives is inp.creatives
    ):
        shared = prepare_shared(inp.line_items, inp.campaigns, inp.creatives)
    products = {p.product_id: p for p in inp.products}
    aisles = {a.aisle_id: a for a in inp.aisles}

    live = _live_items(inp, shared, now_us)

    index = index_pb2.StoreIndex(
        store_id=store_id,
        compile_time=dt_to_ts(now),
        settings=store_settings(inp, settings),
        postings=_postings((entry.line_item_id, entry.posting_keys) for entry in live),
        experiment_layers=index_layers(inp.experiment_layers),
        carts=index_carts(inp.carts),
    )
    index.MergeFromString(_index_products(inp))
    used_creatives: dict[str, admin_pb2.CreativeSpec] = {}
    # The lease is the campaign's (every line item of it carries the same): computed once per campaign,
    # not per line item.
    leases: dict[str, bytes] = {}
    kinds = shared.kinds if inp.pacing is not None else {}
    # Each entry is spliced from serialized parts and parsed once, in C: the shared template, the
    # campaign's lease, the prediction and the pacing fields. Parsing concatenated parts merges them,
    # and the parts set disjoint fields, so the entry equals one built field by field.
    parts: list[bytes] = []
    pacing_parts: dict[str | float, bytes] = {}
    rates = inp.pacing.rates if inp.pacing is not None else None
    prior = _prediction_part(None)
    predictions = inp.predictions or {}
    for entry in live:
        campaign = entry.campaign
        used_creatives.update(entry.creatives_by_id)
        lease = leases.get(campaign.campaign_id)
        if lease is None:
            targeted = shared.targets.get(campaign.campaign_id, frozenset())
            lease = leases[campaign.campaign_id] = _part(
                _lease_fields(
                    inp, targeted, campaign, settings, now_us, kinds=kinds.get(campaign.campaign_id, frozenset())
                )
            )
        # Without pacing the factor is the campaign's; with it, the rate is one of a few values.
        pacing_key = campaign.campaign_id if rates is None else rates.get(entry.line_item_id, 1.0)
        pacing_part = pacing_parts.get(pacing_key)
        if pacing_part is None:
            pacing_part = pacing_parts[pacing_key] = _part(_pacing_fields(inp, entry.item, campaign, now_us))
        found = predictions.get(entry.line_item_id)
        prediction = prior if found is None else _prediction_part(found)
        size = len(entry.template) + len(lease) + len(prediction) + len(pacing_part)
        parts += (_LINE_ITEM_TAG, varint(size), entry.template, lease, prediction, pacing_part)
    index.MergeFromString(b"".join(parts))
    # Spliced like the line items: the shared template, then this store's catalog fields.
    creative_parts = []
    for cid in sorted(used_creatives):
        body = shared.creative_templates[cid] + _creative_store_part(used_creatives[cid], products, aisles)
        creative_parts.append(delimited(_CREATIVE_TAG, body))
    index.MergeFromString(b"".join(creative_parts))
    index.version = content_version(index)
    return index
