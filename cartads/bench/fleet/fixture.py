"""The fleet, built deterministically from the Instacart sample (pure: no I/O, no clock).

Each store carries its own catalog: a store-seeded sample of the real products with prices varied
per store (a chain's stores stock and price differently). National campaigns' line items target
every store (no ``store_ids``) by brand, aisle or department; each store also has local line items,
targeted to that store alone, promoting products of its own catalog.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from cartads.sample.instacart import Catalog
from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2, common_pb2

NATIONAL_ADVERTISERS = 10
LOCAL_ADVERTISERS = 40
NATIONAL_LINE_ITEMS_PER_CAMPAIGN = 10
# Every campaign can afford any load the bench sends: budget caps are not what is measured.
BUDGET_MICROS = 10**15
# Prices vary by store within +-15%, in whole cents.
PRICE_SPREAD = 0.15


@dataclass(frozen=True)
class FleetShape:
    """How big a fleet to build."""

    stores: int = 1000
    products_per_store: int = 1500
    national_line_items: int = 100
    local_line_items_per_store: int = 2


@dataclass(frozen=True)
class StoreCatalog:
    """One store, its signing key and its own catalog."""

    store: admin_pb2.Store
    signing_key: bytes
    aisles: tuple[admin_pb2.Aisle, ...]
    departments: tuple[admin_pb2.Department, ...]
    products: tuple[admin_pb2.Product, ...]


@dataclass(frozen=True)
class Fleet:
    """Everything the bench seeds."""

    stores: tuple[StoreCatalog, ...]
    advertisers: tuple[admin_pb2.Advertiser, ...]
    campaigns: tuple[admin_pb2.Campaign, ...]
    creatives: tuple[admin_pb2.CreativeSpec, ...]
    line_items: tuple[admin_pb2.LineItem, ...]

    @property
    def store_ids(self) -> list[str]:
        return [s.store.store_id for s in self.stores]

    @property
    def national_line_item(self) -> admin_pb2.LineItem:
        """A line item in every store's index: the one the national change edits."""
        return next(li for li in self.line_items if not li.targeting.store_ids)

    def local_line_item(self, store_id: str) -> admin_pb2.LineItem:
        """A line item in ``store_id``'s index alone."""
        return next(li for li in self.line_items if list(li.targeting.store_ids) == [store_id])


def store_id_of(i: int) -> str:
    return f"fleet-{i:05d}"


def signing_key_of(store_id: str) -> bytes:
    return hashlib.sha256(f"fleet-signing-key:{store_id}".encode()).digest()


def _store_catalog(i: int, catalog: Catalog, products_per_store: int) -> StoreCatalog:
    store_id = store_id_of(i)
    rng = random.Random(f"fleet-store-{i}")
    count = min(products_per_store, len(catalog.products))
    stocked = sorted(rng.sample(range(len(catalog.products)), count))
    products = []
    for p in (catalog.products[k] for k in stocked):
        factor = 1 + rng.uniform(-PRICE_SPREAD, PRICE_SPREAD)
        products.append(
            admin_pb2.Product(
                product_id=p.product_id,
                display_name=p.name,
                aisle_id=p.aisle_id,
                department_id=p.department_id,
                brand=p.brand,
                price_micros=max(10_000, round(p.price_micros * factor / 10_000) * 10_000),
            )
        )
    # Stores across the country: the time zone decides dayparting.
    zone = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")[i % 4]
    return StoreCatalog(
        store=admin_pb2.Store(store_id=store_id, display_name=f"Fleet Market {i}", time_zone=zone),
        signing_key=signing_key_of(store_id),
        aisles=tuple(
            admin_pb2.Aisle(aisle_id=a.aisle_id, display_name=a.name, zone_id=a.zone_id) for a in catalog.aisles
        ),
        departments=tuple(
            admin_pb2.Department(department_id=d.department_id, display_name=d.name) for d in catalog.departments
        ),
        products=tuple(products),
    )


def _bid_micros(line_item_id: str) -> int:
    spread = int.from_bytes(hashlib.sha256(line_item_id.encode()).digest()[:2], "big") / 65535
    return 1_000_000 + int(spread * 9_000_000)


def _creative(creative_id: str, advertiser_id: str, product_id: str, headline: str) -> admin_pb2.CreativeSpec:
    return admin_pb2.CreativeSpec(
        creative_id=creative_id,
        advertiser_id=advertiser_id,
        display_name=creative_id,
        format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
        headline=headline[:60],
        body="Find it in this store",
        promoted_product_id=product_id,
        call_to_action="Add to cart",
        # Reviewed: only approved creatives are compiled in (creative review).
        review_status=admin_pb2.CREATIVE_REVIEW_STATUS_APPROVED,
    )


def _national_targeting(n: int, catalog: Catalog) -> admin_pb2.Targeting:
    product = catalog.products[(n * 7919) % len(catalog.products)]
    kind = n % 3
    if kind == 0:
        return admin_pb2.Targeting(brands=[product.brand])
    if kind == 1:
        return admin_pb2.Targeting(aisle_ids=[product.aisle_id])
    return admin_pb2.Targeting(department_ids=[product.department_id], triggers=[common_pb2.TRIGGER_SCAN])


def build_fleet(shape: FleetShape, catalog: Catalog, now: datetime) -> Fleet:
    """The fleet of ``shape`` over ``catalog``, flights around ``now``."""
    stores = tuple(_store_catalog(i, catalog, shape.products_per_store) for i in range(shape.stores))
    advertisers = tuple(
        admin_pb2.Advertiser(advertiser_id=f"fleet-adv-{a:03d}", display_name=f"Fleet advertiser {a}")
        for a in range(NATIONAL_ADVERTISERS + LOCAL_ADVERTISERS)
    )
    start, end = dt_to_ts(now - timedelta(days=1)), dt_to_ts(now + timedelta(days=365))

    def campaign(campaign_id: str, advertiser: int) -> admin_pb2.Campaign:
        return admin_pb2.Campaign(
            campaign_id=campaign_id,
            advertiser_id=advertisers[advertiser].advertiser_id,
            display_name=campaign_id,
            start_time=start,
            end_time=end,
            budget_micros=BUDGET_MICROS,
            state=admin_pb2.SERVING_STATE_ACTIVE,
        )

    campaigns: list[admin_pb2.Campaign] = []
    creatives: list[admin_pb2.CreativeSpec] = []
    items: list[admin_pb2.LineItem] = []

    def line_item(
        line_item_id: str, owner: admin_pb2.Campaign, targeting: admin_pb2.Targeting, product_id: str, name: str
    ) -> None:
        creative_id = f"cr-{line_item_id}"
        creatives.append(_creative(creative_id, owner.advertiser_id, product_id, name))
        items.append(
            admin_pb2.LineItem(
                line_item_id=line_item_id,
                campaign_id=owner.campaign_id,
                display_name=line_item_id,
                pricing_model=common_pb2.PRICING_MODEL_CPM,
                bid_micros=_bid_micros(line_item_id),
                creative_ids=[creative_id],
                targeting=targeting,
                frequency_cap_per_session=3,
                state=admin_pb2.SERVING_STATE_ACTIVE,
            )
        )

    national_campaigns = -(-shape.national_line_items // NATIONAL_LINE_ITEMS_PER_CAMPAIGN)
    for c in range(national_campaigns):
        campaigns.append(campaign(f"fleet-national-{c:03d}", c % NATIONAL_ADVERTISERS))
    for n in range(shape.national_line_items):
        product = catalog.products[(n * 104729) % len(catalog.products)]
        owner = campaigns[n // NATIONAL_LINE_ITEMS_PER_CAMPAIGN]
        line_item(f"li-national-{n:04d}", owner, _national_targeting(n, catalog), product.product_id, product.name)
    for own in stores:
        store_id = own.store.store_id
        owner = campaign(f"fleet-local-{store_id}", NATIONAL_ADVERTISERS + len(campaigns) % LOCAL_ADVERTISERS)
        campaigns.append(owner)
        for k in range(shape.local_line_items_per_store):
            stocked = own.products[(k * 7919) % len(own.products)]
            targeting = admin_pb2.Targeting(store_ids=[store_id], product_ids=[stocked.product_id])
            line_item(f"li-{store_id}-{k}", owner, targeting, stocked.product_id, stocked.display_name)
    return Fleet(stores, advertisers, tuple(campaigns), tuple(creatives), tuple(items))
