"""The store-independent part of compiling an index: what every store's index repeats, derived once. Pure.

A store's line item entry is its template (these bytes) followed by the store's own fields (lease,
predictions, pacing); a creative is its template followed by the fields from the store's catalog.
``compiler`` splices them per store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cartads.v1 import admin_pb2, common_pb2, index_pb2
from cloud_core.delivery.pacing import PacingType, pacing_groups, pacing_type_of

ALL_KEY = "all"


@dataclass(frozen=True)
class SharedCompile:
    """The store-independent part of compiling ``line_items``: their order, posting keys, campaign
    targets and pacing kinds, and each servable line item's index fields that no store changes."""

    line_items: Sequence[admin_pb2.LineItem]
    campaigns: Sequence[admin_pb2.Campaign]
    creatives: Sequence[admin_pb2.CreativeSpec]
    # Sorted by id; only those with a campaign and at least one creative (the others cannot serve).
    servable: tuple[ServableItem, ...]
    targets: Mapping[str, frozenset[str]]
    kinds: Mapping[str, frozenset[PacingType]]
    # pacing.pacing_groups of the line items: what each store's pacing plan steps.
    pacing_groups: Mapping[str, Sequence[admin_pb2.LineItem]]
    # creative id -> its serialized index Creative without the fields from a store's catalog.
    creative_templates: Mapping[str, bytes]
    # Set when the incremental compiler prepared these rows (cloud_core/compile/shared_memo.py): what
    # tells two preparations apart without comparing their rows again.
    keys: SharedKeys | None = None


@dataclass(frozen=True)
class SharedKeys:
    """Content keys of a SharedCompile's rows, for telling what changed between two of them."""

    # Servable line item id -> its ServableItem, the same object whenever its rows are the same.
    servable_by_id: Mapping[str, ServableItem]
    # Campaign id -> the ids of its servable line items.
    servable_by_campaign: Mapping[str, tuple[str, ...]]
    # Campaign id -> its row's bytes; approved creative id -> its spec and the spec's bytes.
    campaign_bytes: Mapping[str, bytes]
    approved: Mapping[str, admin_pb2.CreativeSpec]
    creative_bytes: Mapping[str, bytes]


@dataclass(frozen=True, slots=True)
class ServableItem:
    """A line item that can serve (it has a campaign and a creative), with what every store's compile reads."""

    line_item_id: str
    item: admin_pb2.LineItem
    campaign: admin_pb2.Campaign
    specs: tuple[admin_pb2.CreativeSpec, ...]
    creatives_by_id: tuple[tuple[str, admin_pb2.CreativeSpec], ...]
    # Targeted stores (empty: every store), and whether the line item itself is active.
    store_ids: frozenset[str]
    active: bool
    posting_keys: tuple[str, ...]
    # Its IndexLineItem without the per-store fields (lease, predictions, pacing), serialized: a
    # store's entry is these bytes followed by its own fields' (parsing merges them).
    template: bytes


def prepare_shared(
    line_items: Sequence[admin_pb2.LineItem],
    campaigns: Sequence[admin_pb2.Campaign],
    creatives: Sequence[admin_pb2.CreativeSpec],
) -> SharedCompile:
    """Derive once what every store's compile of these rows needs (see SharedCompile)."""
    by_campaign = {c.campaign_id: c for c in campaigns}
    by_creative = approved_creatives(creatives)
    servable = []
    for item in sorted(line_items, key=lambda li: li.line_item_id):
        campaign = by_campaign.get(item.campaign_id)
        specs = tuple(by_creative[cid] for cid in item.creative_ids if cid in by_creative)
        # Without a creative there is nothing to show; such a line item cannot serve.
        if campaign is None or not specs:
            continue
        servable.append(servable_item(item, campaign, specs))
    return SharedCompile(
        line_items=line_items,
        campaigns=campaigns,
        creatives=creatives,
        servable=tuple(servable),
        targets=campaign_store_targets(line_items),
        kinds=pacing_kinds(line_items),
        pacing_groups=pacing_groups(line_items, by_campaign),
        creative_templates={c.creative_id: creative_template(c) for c in creatives},
    )


def approved_creatives(creatives: Sequence[admin_pb2.CreativeSpec]) -> dict[str, admin_pb2.CreativeSpec]:
    """The creatives a store may show, by id.

    Only a creative an admin approved reaches a store (creative review): pending and rejected ones
    are left out, so a line item whose creatives are all unapproved has nothing to show.
    """
    return {c.creative_id: c for c in creatives if c.review_status == admin_pb2.CREATIVE_REVIEW_STATUS_APPROVED}


def servable_item(
    item: admin_pb2.LineItem, campaign: admin_pb2.Campaign, specs: tuple[admin_pb2.CreativeSpec, ...]
) -> ServableItem:
    """``item`` of ``campaign`` showing ``specs`` (its approved creatives, at least one), ready to compile."""
    return ServableItem(
        line_item_id=item.line_item_id,
        item=item,
        campaign=campaign,
        specs=specs,
        creatives_by_id=tuple((spec.creative_id, spec) for spec in specs),
        store_ids=frozenset(item.targeting.store_ids),
        active=item.state == admin_pb2.SERVING_STATE_ACTIVE,
        posting_keys=tuple(posting_keys(item.targeting)),
        template=_line_item_template(item, campaign, specs).SerializeToString(),
    )


def _line_item_template(
    item: admin_pb2.LineItem, campaign: admin_pb2.Campaign, specs: Sequence[admin_pb2.CreativeSpec]
) -> index_pb2.IndexLineItem:
    return index_pb2.IndexLineItem(
        line_item_id=item.line_item_id,
        campaign_id=campaign.campaign_id,
        advertiser_id=campaign.advertiser_id,
        pricing_model=item.pricing_model,
        bid_micros=item.bid_micros,
        creative_ids=[s.creative_id for s in specs],
        start_time=campaign.start_time,
        end_time=campaign.end_time,
        frequency_cap_per_session=item.frequency_cap_per_session,
        promoted_product_ids=sorted({s.promoted_product_id for s in specs if s.promoted_product_id}),
        triggers=item.targeting.triggers,
        priority_tier=item.priority_tier,
        creative_frequency_cap_per_session=item.creative_frequency_cap_per_session,
        campaign_frequency_cap_per_session=campaign.frequency_cap_per_session,
        click_through_window_s=campaign.click_through_window_s,
        view_through_window_s=campaign.view_through_window_s,
        exclusion_label=item.exclusion_label,
        daypart_hours=sorted(set(item.targeting.daypart_hours)),
        daypart_weekdays=sorted(set(item.targeting.daypart_weekdays)),
    )


def posting_keys(targeting: admin_pb2.Targeting) -> list[str]:
    """The posting keys a line item is found under; run-of-store when it targets nothing."""
    keys = [
        *(f"product:{v}" for v in targeting.product_ids),
        *(f"brand:{v}" for v in targeting.brands),
        *(f"aisle:{v}" for v in targeting.aisle_ids),
        *(f"department:{v}" for v in targeting.department_ids),
        *(f"zone:{v}" for v in targeting.zone_ids),
    ]
    # A line item that names only triggers is found by the request's trigger, not on every request.
    return keys or [f"trigger:{int(t)}" for t in sorted(set(targeting.triggers))] or [ALL_KEY]


def campaign_store_targets(line_items: Sequence[admin_pb2.LineItem]) -> dict[str, frozenset[str]]:
    """Per campaign, the stores its line items target; empty when any of them serves every store."""
    targets: dict[str, set[str]] = {}
    everywhere: set[str] = set()
    for li in line_items:
        store_ids = li.targeting.store_ids
        if not store_ids:
            everywhere.add(li.campaign_id)
        targets.setdefault(li.campaign_id, set()).update(store_ids)
    return {cid: frozenset() if cid in everywhere else frozenset(stores) for cid, stores in targets.items()}


def pacing_kinds(line_items: Sequence[admin_pb2.LineItem]) -> dict[str, frozenset[PacingType]]:
    """Per campaign, the pacing types of its line items."""
    kinds: defaultdict[str, set[PacingType]] = defaultdict(set)
    for li in line_items:
        kinds[li.campaign_id].add(pacing_type_of(li))
    return {cid: frozenset(k) for cid, k in kinds.items()}


def creative_template(spec: admin_pb2.CreativeSpec) -> bytes:
    """The index Creative's fields that no store changes, serialized."""
    return common_pb2.Creative(
        creative_id=spec.creative_id,
        format=spec.format,
        headline=spec.headline,
        body=spec.body,
        image_url=spec.image_url,
        promoted_product_id=spec.promoted_product_id,
        call_to_action=spec.call_to_action,
        offer_text=spec.offer_text,
        coupon_code=spec.coupon_code,
    ).SerializeToString()
