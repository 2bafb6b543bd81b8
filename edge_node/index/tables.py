"""Per-version lookups for the hot path: line items in rank order and candidate lists per request key.

Everything that depends only on the index version (expected value, pacing, reserve in the bid's
unit, the order of line items, the union of the postings a scanned product reaches, the prebuilt
protobuf creatives) is computed here once, so a request only unions a few small sorted tuples and
walks candidates in rank order until its slots are filled.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import tzinfo

from cartads.store_time import store_zone
from cartads.v1.common_pb2 import Creative as PbCreative
from cartads.v1.common_pb2 import PricingModel, PriorityTier, RecipeItem
from edge_node.index.view import Creative, LineItem, ServingView, members

# Selection passes: sponsorships fill slots first, then the auction, then house ads.
TIER_SPONSORSHIP = 0
TIER_AUCTION = 1
TIER_HOUSE = 2
_TIER_ORDER = {
    PriorityTier.PRIORITY_TIER_SPONSORSHIP: TIER_SPONSORSHIP,
    PriorityTier.PRIORITY_TIER_UNSPECIFIED: TIER_AUCTION,
    PriorityTier.PRIORITY_TIER_AUCTION: TIER_AUCTION,
    PriorityTier.PRIORITY_TIER_HOUSE: TIER_HOUSE,
}
# CPC and CPA bids are compared with CPM bids per thousand impressions.
PER_MILLE = 1000.0
MAX_MICROS = 2**63 - 1


def units_per_cpm(line_item: LineItem) -> float:
    """Expected events per thousand impressions in the bid's unit (1 for CPM bids)."""
    if line_item.pricing_model == PricingModel.PRICING_MODEL_CPC:
        return line_item.predicted_ctr * PER_MILLE
    if line_item.pricing_model == PricingModel.PRICING_MODEL_CPA:
        return line_item.predicted_cvr * PER_MILLE
    return 1.0


def reserve_in_bid_units(line_item: LineItem, reserve_cpm_micros: int) -> int:
    """The least bid, in the line item's own unit, whose expected value reaches the CPM reserve."""
    if reserve_cpm_micros <= 0:
        return 0
    needed = reserve_cpm_micros / units_per_cpm(line_item) if units_per_cpm(line_item) > 0 else math.inf
    # No (or a vanishing) expected value can never reach a positive reserve.
    return math.ceil(needed) if needed < MAX_MICROS else MAX_MICROS


@dataclass(frozen=True, slots=True)
class Entry:
    """A line item prepared for serving; ``rank`` is its place in the version's static order."""

    rank: int
    line_item: LineItem
    tier: int
    # Expected CPM value without pacing, and the ranking score (value × pacing).
    value_cpm_micros: float
    score: float
    units_per_cpm: float
    reserve_bid_micros: int
    creatives: tuple[Creative, ...]
    # House ads neither pay nor need budget, and are exempt from the reserve.
    is_house: bool
    has_daypart: bool
    # The line item's fields eligibility reads, unpacked here so a check reads one object
    # (edge_node/serving/eligibility.py): an open flight side is the widest int, caps are 0 when absent.
    line_item_id: str
    campaign_id: str
    paused: bool
    start_unix_ms: int
    end_unix_ms: int
    triggers: frozenset[int]
    budget_allowance_micros: int
    promoted_product_ids: frozenset[str]
    # What the creatives promote: a basket holding all of them leaves nothing to show.
    creative_product_ids: frozenset[str]
    below_reserve: bool
    frequency_cap_per_session: int
    campaign_frequency_cap_per_session: int
    creative_frequency_cap_per_session: int
    exclusion_label: str
    pass_through_rate: float


@dataclass(frozen=True)
class ServingTables:
    """See the module docstring; built by ``build_tables`` once per version."""

    entries: tuple[Entry, ...]
    # Sorted rank tuples.
    # A scanned product reaches its own, its brand's, aisle's and department's postings: the
    # (shared, not copied) rank tuples of those, merged per request.
    scan: Mapping[str, tuple[tuple[int, ...], ...]]
    # A basket product reaches its own and its department's postings (merged lazily per request,
    # each department once, so a big basket does not union thousands of ranks).
    product_only: Mapping[str, tuple[int, ...]]
    product_department: Mapping[str, str]
    department: Mapping[str, tuple[int, ...]]
    # Per basket product: its own postings and its department's (each () when none), in one lookup.
    basket: Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]]
    zone: Mapping[str, tuple[int, ...]]
    trigger: Mapping[int, tuple[int, ...]]
    run_of_store: tuple[int, ...]
    tz: tzinfo
    creative_pb: Mapping[str, PbCreative]
    # Ranks from here on are house line items (tiers are ranked first): len(entries) when none.
    first_house_rank: int
    # When the last budget lease of a paid line item expires; None when some paid line item's
    # lease never does, or there is none (nothing to skip, see ServingSpend.paid_blocked).
    paid_leases_expire_unix_ms: int | None


def _paid_leases_expiry(entries: Iterable[Entry]) -> int | None:
    latest: int | None = None
    for entry in entries:
        if entry.is_house:
            continue
        expire = entry.line_item.budget_lease_expire_unix_ms
        if expire is None:
            return None
        latest = expire if latest is None else max(latest, expire)
    return latest


def _union(postings: Mapping[str, tuple[str, ...]], rank_of: Mapping[str, int], keys: Iterable[str]) -> tuple[int, ...]:
    ranks: set[int] = set()
    for key in keys:
        ranks.update(rank_of[i] for i in postings.get(key, ()) if i in rank_of)
    return tuple(sorted(ranks))


def creative_pb(creative: Creative) -> PbCreative:
    """The protobuf a response carries for ``creative``."""
    return PbCreative(
        creative_id=creative.creative_id,
        format=creative.format,  # type: ignore[arg-type]
        headline=creative.headline,
        body=creative.body,
        image_url=creative.image_url,
        promoted_product_id=creative.promoted_product_id,
        call_to_action=creative.call_to_action,
        location_hint=creative.location_hint,
        price_micros=creative.price_micros,
        offer_text=creative.offer_text,
        coupon_code=creative.coupon_code,
        image_asset_sha256=creative.image_asset_sha256,
        recipe_items=[
            RecipeItem(
                product_id=r.product_id,
                name=r.name,
                aisle_id=r.aisle_id,
                location_hint=r.location_hint,
                price_micros=r.price_micros,
            )
            for r in creative.recipe_items
        ],
    )


@dataclass(frozen=True)
class _VersionParts:
    """What every ranking of a version shares (see ``edge_node.index.view.SharedParts``)."""

    # What they were made from: a copy of the view that replaced either gets parts of its own.
    source_creatives: Mapping[str, Creative]
    time_zone: str
    # Per line item id: the creative ids it names, those creatives, and the products they promote.
    line_item_creatives: Mapping[str, _LineItemCreatives]
    creative_pb: Mapping[str, PbCreative]
    tz: tzinfo

    def made_from(self, view: ServingView) -> bool:
        """Whether ``view`` has the creatives and time zone these parts were made from."""
        return self.source_creatives is view.creatives and self.time_zone == view.time_zone


_LineItemCreatives = tuple[tuple[str, ...], tuple[Creative, ...], frozenset[str]]


def _line_item_creatives(view: ServingView, li: LineItem) -> _LineItemCreatives:
    creatives = tuple(view.creatives[c] for c in li.creative_ids if c in view.creatives)
    return li.creative_ids, creatives, members(c.promoted_product_id for c in creatives)


def _version_parts(view: ServingView) -> _VersionParts:
    found = view.shared.value
    if isinstance(found, _VersionParts) and found.made_from(view):
        return found
    parts = _VersionParts(
        source_creatives=view.creatives,
        time_zone=view.time_zone,
        line_item_creatives={li.line_item_id: _line_item_creatives(view, li) for li in view.line_items.values()},
        creative_pb={cid: creative_pb(c) for cid, c in view.creatives.items()},
        tz=store_zone(view.time_zone),
    )
    if found is None:  # the first ranking of the version made them: the others share them
        view.shared.value = parts
    return parts


def _entries(view: ServingView, parts: _VersionParts) -> tuple[Entry, ...]:
    prepared = []
    for li in view.line_items.values():
        per_cpm = units_per_cpm(li)
        value = li.bid_micros * per_cpm
        tier = _TIER_ORDER.get(li.priority_tier, TIER_AUCTION)  # type: ignore[call-overload]
        shared = parts.line_item_creatives.get(li.line_item_id)
        if shared is None or shared[0] != li.creative_ids:  # changed in a copy of the view: its own
            shared = _line_item_creatives(view, li)
        prepared.append((tier, -value * li.pacing_factor, li.line_item_id, li, per_cpm, value, shared))
    prepared.sort(key=lambda p: (p[0], p[1], p[2]))
    return tuple(
        _entry(
            rank,
            li,
            tier=tier,
            value=value,
            score=-neg_score,
            per_cpm=per_cpm,
            reserve_bid_micros=reserve_in_bid_units(li, view.reserve_cpm_micros),
            creatives=creatives,
            creative_product_ids=creative_product_ids,
        )
        for rank, (tier, neg_score, _, li, per_cpm, value, (_, creatives, creative_product_ids)) in enumerate(prepared)
    )


def _entry(
    rank: int,
    li: LineItem,
    *,
    tier: int,
    value: float,
    score: float,
    per_cpm: float,
    reserve_bid_micros: int,
    creatives: tuple[Creative, ...],
    creative_product_ids: frozenset[str],
) -> Entry:
    is_house = tier == TIER_HOUSE
    return Entry(
        rank=rank,
        line_item=li,
        tier=tier,
        value_cpm_micros=value,
        score=score,
        units_per_cpm=per_cpm,
        reserve_bid_micros=reserve_bid_micros,
        creatives=creatives,
        is_house=is_house,
        has_daypart=bool(li.daypart_hours or li.daypart_weekdays),
        line_item_id=li.line_item_id,
        campaign_id=li.campaign_id,
        paused=li.paused or li.campaign_paused,
        start_unix_ms=li.start_unix_ms if li.start_unix_ms is not None else -MAX_MICROS,
        end_unix_ms=li.end_unix_ms if li.end_unix_ms is not None else MAX_MICROS,
        triggers=li.triggers,
        budget_allowance_micros=li.budget_allowance_micros,
        promoted_product_ids=li.promoted_product_ids,
        creative_product_ids=creative_product_ids,
        below_reserve=not is_house and li.bid_micros < reserve_bid_micros,
        frequency_cap_per_session=li.frequency_cap_per_session,
        campaign_frequency_cap_per_session=li.campaign_frequency_cap_per_session,
        creative_frequency_cap_per_session=li.creative_frequency_cap_per_session,
        exclusion_label=li.exclusion_label,
        pass_through_rate=li.pass_through_rate,
    )


def build_tables(view: ServingView) -> ServingTables:
    """The hot-path lookups of ``view``."""
    parts = _version_parts(view)
    entries = _entries(view, parts)
    rank_of = {e.line_item.line_item_id: e.rank for e in entries}
    postings = view.postings
    by_key = {key: ranks for key in postings if (ranks := _union(postings, rank_of, [key]))}
    scan: dict[str, tuple[tuple[int, ...], ...]] = {}
    product_department: dict[str, str] = {}
    for product in view.products.values():
        keys = [
            f"product:{product.product_id}",
            f"brand:{product.brand}",
            f"aisle:{product.aisle_id}",
            f"department:{product.department_id}",
        ]
        if lists := tuple(by_key[k] for k in keys if k in by_key):
            scan[product.product_id] = lists
        if keys[3] in by_key:
            product_department[product.product_id] = product.department_id
    product_only: dict[str, tuple[int, ...]] = {}
    departments: dict[str, tuple[int, ...]] = {}
    zone: dict[str, tuple[int, ...]] = {}
    trigger: dict[int, tuple[int, ...]] = {}
    for key, ranks in by_key.items():
        kind, _, value = key.partition(":")
        if kind == "product":
            product_only[value] = ranks
        elif kind == "department":
            departments[value] = ranks
        elif kind == "zone":
            zone[value] = ranks
        elif kind == "trigger" and value.isdigit():
            trigger[int(value)] = ranks
    basket = {
        pid: (product_only.get(pid, ()), departments[product_department[pid]] if pid in product_department else ())
        for pid in product_only.keys() | product_department.keys()
    }
    return ServingTables(
        entries=entries,
        scan=scan,
        product_only=product_only,
        product_department=product_department,
        department=departments,
        basket=basket,
        zone=zone,
        trigger=trigger,
        run_of_store=_union(postings, rank_of, ["all"]),
        tz=parts.tz,
        creative_pb=parts.creative_pb,
        first_house_rank=next((e.rank for e in entries if e.is_house), len(entries)),
        paid_leases_expire_unix_ms=_paid_leases_expiry(entries),
    )
