"""A realistic large store for benchmarks and size tests: the Instacart sample catalog with thousands
of line items, built deterministically as AdminService messages, so the cloud's own store and compiler
turn it into the index an edge would get."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cartads.sample.instacart import Catalog, load_catalog
from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.compile.compiler import CompileInput
from cloud_core.storage.protocol import AdvertiserStore, CampaignStore, CatalogStore

LINE_ITEMS_PER_CAMPAIGN = 10
CAMPAIGNS_PER_ADVERTISER = 10


@dataclass(frozen=True)
class IndexFixture:
    """Everything one store's index is compiled from."""

    store: admin_pb2.Store
    signing_key: bytes
    aisles: tuple[admin_pb2.Aisle, ...]
    departments: tuple[admin_pb2.Department, ...]
    products: tuple[admin_pb2.Product, ...]
    advertisers: tuple[admin_pb2.Advertiser, ...]
    campaigns: tuple[admin_pb2.Campaign, ...]
    creatives: tuple[admin_pb2.CreativeSpec, ...]
    line_items: tuple[admin_pb2.LineItem, ...]

    def compile_input(self) -> CompileInput:
        """The compiler's input for this store, with nothing spent yet."""
        return CompileInput(
            store=self.store,
            signing_key=self.signing_key,
            aisles=self.aisles,
            departments=self.departments,
            products=self.products,
            campaigns=self.campaigns,
            line_items=self.line_items,
            creatives=self.creatives,
            campaign_spend_micros={},
        )


def _targeting(i: int, catalog: Catalog) -> admin_pb2.Targeting:
    product = catalog.products[(i * 7919) % len(catalog.products)]
    kind = i % 5
    if kind == 0:
        return admin_pb2.Targeting(product_ids=[product.product_id])
    if kind == 1:
        return admin_pb2.Targeting(aisle_ids=[product.aisle_id])
    if kind == 2:
        return admin_pb2.Targeting(brands=[product.brand])
    if kind == 3:
        return admin_pb2.Targeting(department_ids=[product.department_id], triggers=[common_pb2.TRIGGER_SCAN])
    return admin_pb2.Targeting(zone_ids=[f"zone-{product.aisle_id}"])


def _bid_micros(line_item_id: str) -> int:
    spread = int.from_bytes(hashlib.sha256(line_item_id.encode()).digest()[:2], "big") / 65535
    return 500_000 + int(spread * 9_500_000)


def build_fixture(
    line_items: int, now: datetime, store_id: str = "store-1", catalog: Catalog | None = None
) -> IndexFixture:
    """``line_items`` live line items (one creative each) over the sample catalog, flights around ``now``."""
    catalog = catalog or load_catalog()
    campaigns_needed = -(-line_items // LINE_ITEMS_PER_CAMPAIGN)
    advertisers_needed = -(-campaigns_needed // CAMPAIGNS_PER_ADVERTISER)
    advertisers = tuple(
        admin_pb2.Advertiser(advertiser_id=f"adv-{a:04d}", display_name=f"Advertiser {a}")
        for a in range(advertisers_needed)
    )
    start, end = dt_to_ts(now - timedelta(days=1)), dt_to_ts(now + timedelta(days=365))
    campaigns = tuple(
        admin_pb2.Campaign(
            campaign_id=f"cmp-{c:05d}",
            advertiser_id=advertisers[c // CAMPAIGNS_PER_ADVERTISER].advertiser_id,
            display_name=f"Campaign {c}",
            start_time=start,
            end_time=end,
            budget_micros=1_000_000_000_000,
            state=admin_pb2.SERVING_STATE_ACTIVE,
        )
        for c in range(campaigns_needed)
    )
    creatives: list[admin_pb2.CreativeSpec] = []
    items: list[admin_pb2.LineItem] = []
    for i in range(line_items):
        campaign = campaigns[i // LINE_ITEMS_PER_CAMPAIGN]
        product = catalog.products[(i * 104729) % len(catalog.products)]
        creative_id = f"cr-{i:06d}"
        creatives.append(
            admin_pb2.CreativeSpec(
                creative_id=creative_id,
                advertiser_id=campaign.advertiser_id,
                display_name=f"Creative {i}",
                format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
                headline=product.name[:60],
                body=f"Try {product.brand} today",
                promoted_product_id=product.product_id,
                call_to_action="Add to cart",
                # Reviewed: only approved creatives are compiled in (creative review).
                review_status=admin_pb2.CREATIVE_REVIEW_STATUS_APPROVED,
            )
        )
        line_item_id = f"li-{i:06d}"
        items.append(
            admin_pb2.LineItem(
                line_item_id=line_item_id,
                campaign_id=campaign.campaign_id,
                display_name=f"Line item {i}",
                pricing_model=common_pb2.PRICING_MODEL_CPM if i % 3 else common_pb2.PRICING_MODEL_CPC,
                bid_micros=_bid_micros(line_item_id),
                creative_ids=[creative_id],
                targeting=_targeting(i, catalog),
                frequency_cap_per_session=3,
                state=admin_pb2.SERVING_STATE_ACTIVE,
            )
        )
    return IndexFixture(
        store=admin_pb2.Store(store_id=store_id, display_name="Bench Market", time_zone="America/Chicago"),
        signing_key=hashlib.sha256(f"signing-key:{store_id}".encode()).digest(),
        aisles=tuple(
            admin_pb2.Aisle(aisle_id=a.aisle_id, display_name=a.name, zone_id=a.zone_id) for a in catalog.aisles
        ),
        departments=tuple(
            admin_pb2.Department(department_id=d.department_id, display_name=d.name) for d in catalog.departments
        ),
        products=tuple(
            admin_pb2.Product(
                product_id=p.product_id,
                display_name=p.name,
                aisle_id=p.aisle_id,
                department_id=p.department_id,
                brand=p.brand,
                price_micros=p.price_micros,
            )
            for p in catalog.products
        ),
        advertisers=advertisers,
        campaigns=campaigns,
        creatives=tuple(creatives),
        line_items=tuple(items),
    )


async def populate(
    catalog: CatalogStore, advertisers: AdvertiserStore, campaigns: CampaignStore, fixture: IndexFixture
) -> None:
    """Write the fixture into the cloud's stores, as AdminService would (ids already valid)."""
    await catalog.create_store(fixture.store, fixture.signing_key)
    await catalog.import_catalog(fixture.store.store_id, fixture.aisles, fixture.departments, fixture.products)
    for advertiser in fixture.advertisers:
        await advertisers.create_advertiser(advertiser)
    for campaign in fixture.campaigns:
        await campaigns.create_campaign(campaign)
    for creative in fixture.creatives:
        await campaigns.create_creative(creative)
    for item in fixture.line_items:
        await campaigns.create_line_item(item)
