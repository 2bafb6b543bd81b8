"""The terms an index version grants its store's edge: per line item, who owns it, which creatives it
may show, how it is priced, the most one event may cost and its flight. Pure.

The cloud records these when it sends a version to a store, keyed by the version (a content hash),
and bills a charge only within the terms of the version its token names
(``cloud_core/events/charges.py``): an edge that signs a token for a line item, price or creative
the cloud never sent it gets no money for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from cartads.time_units import ts_to_us
from cartads.v1 import common_pb2, index_pb2

# A flight end of 0 is open-ended.
OPEN_END_US = 0


@dataclass(frozen=True)
class LineItemTerms:
    """What one line item of a version may charge."""

    line_item_id: str
    campaign_id: str
    advertiser_id: str
    creative_ids: frozenset[str]
    pricing_model: int
    # The most the auction can charge per billable unit, in the unit of the bid (CPM per mille, CPC
    # per click, CPA per conversion): the bid (second price never exceeds it); 0 for house ads.
    max_price_micros: int
    start_us: int = 0
    end_us: int = OPEN_END_US


@dataclass(frozen=True)
class VersionTerms:
    """The terms of one index version of one store."""

    version: str
    store_id: str
    line_items: Mapping[str, LineItemTerms]
    # The images (sha256) its creatives show: the assets the store's edges may fetch.
    assets: frozenset[str] = frozenset()


def max_price_micros(line_item: index_pb2.IndexLineItem) -> int:
    """The most a line item's winner can pay per unit: its bid (the clearing price is at most the bid,
    edge_node/serving/auction.py); house ads are free."""
    if line_item.priority_tier == common_pb2.PRIORITY_TIER_HOUSE:
        return 0
    return max(0, line_item.bid_micros)


def index_terms(index: index_pb2.StoreIndex) -> VersionTerms:
    """The terms ``index`` grants."""
    items = {}
    for li in index.line_items:
        items[li.line_item_id] = LineItemTerms(
            line_item_id=li.line_item_id,
            campaign_id=li.campaign_id,
            advertiser_id=li.advertiser_id,
            creative_ids=frozenset(li.creative_ids),
            pricing_model=int(li.pricing_model),
            max_price_micros=max_price_micros(li),
            start_us=ts_to_us(li.start_time) if li.HasField("start_time") else 0,
            end_us=ts_to_us(li.end_time) if li.HasField("end_time") else OPEN_END_US,
        )
    assets = frozenset(c.image_asset_sha256 for c in index.creatives if c.image_asset_sha256)
    return VersionTerms(index.version, index.store_id, items, assets)


def encode_terms(terms: VersionTerms) -> bytes:
    """Compact JSON of what the version allows, without its version and store: the same bytes for every
    version with the same terms (most versions differ only in budgets and rates), sorted keys."""
    doc = {
        "assets": sorted(terms.assets),
        "line_items": {
            lid: [
                t.campaign_id,
                t.advertiser_id,
                sorted(t.creative_ids),
                t.pricing_model,
                t.max_price_micros,
                t.start_us,
                t.end_us,
            ]
            for lid, t in sorted(terms.line_items.items())
        },
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def decode_terms(raw: bytes, version: str, store_id: str) -> VersionTerms:
    """The terms ``encode_terms`` wrote, as those of ``version`` sent to ``store_id``."""
    doc = json.loads(raw)
    items = {
        lid: LineItemTerms(lid, str(c), str(a), frozenset(map(str, cr)), int(pm), int(mx), int(s), int(e))
        for lid, (c, a, cr, pm, mx, s, e) in doc["line_items"].items()
    }
    return VersionTerms(version, store_id, items, frozenset(map(str, doc.get("assets", ()))))
