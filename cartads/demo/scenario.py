"""The demo's store and advertisers, planned from the Instacart sample (pure) and applied through
AdminService like an operator would (thin)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cartads.credential_file import CartCredentialEntry
from cartads.sample.catalog_messages import import_catalog_requests
from cartads.sample.instacart import Catalog, Order, Product
from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2, common_pb2

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub


@dataclass(frozen=True)
class LineItemPlan:
    line_item_id: str
    name: str
    pricing_model: common_pb2.PricingModel
    bid_micros: int
    creative_id: str
    product_ids: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    aisle_ids: tuple[str, ...] = ()
    department_ids: tuple[str, ...] = ()
    triggers: tuple[common_pb2.Trigger, ...] = ()
    frequency_cap_per_session: int = 2


@dataclass(frozen=True)
class CreativePlan:
    creative_id: str
    format: common_pb2.CreativeFormat
    headline: str
    body: str
    promoted_product_id: str
    call_to_action: str


@dataclass(frozen=True)
class AdvertiserPlan:
    advertiser_id: str
    name: str
    campaign_id: str
    campaign_name: str
    budget_micros: int
    creatives: tuple[CreativePlan, ...]
    line_items: tuple[LineItemPlan, ...] = field(default_factory=tuple)


def _money(micros: int) -> str:
    return f"${micros / 1_000_000:.2f}"


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def plan_advertisers(catalog: Catalog, orders: Sequence[Order], count: int = 6) -> list[AdvertiserPlan]:
    """Advertisers named after the most bought non-produce brands, each promoting its best seller to
    shoppers who scan what is bought with it, or who walk into its aisle; plus a store house line."""
    products = {p.product_id: p for p in catalog.products}
    bought = Counter(pid for order in orders for pid in order.product_ids)
    produce = {d.department_id for d in catalog.departments if d.name == "produce"}
    brand_best: dict[str, Product] = {}
    brand_sales: Counter[str] = Counter()
    for pid, n in bought.most_common():
        product = products[pid]
        if product.department_id in produce:
            continue
        brand_sales[product.brand] += n
        brand_best.setdefault(product.brand, product)
    plans = []
    for rank, (brand, _) in enumerate(brand_sales.most_common(count)):
        best = brand_best[brand]
        companions = Counter(
            other for order in orders if best.product_id in order.product_ids for other in order.product_ids
        )
        companions.pop(best.product_id, None)
        slug = _slug(brand)
        card = CreativePlan(
            creative_id=f"cr-{slug}-card",
            format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
            headline=best.name,
            body=f"Only {_money(best.price_micros)} today",
            promoted_product_id=best.product_id,
            call_to_action="Add to cart",
        )
        banner = CreativePlan(
            creative_id=f"cr-{slug}-banner",
            format=common_pb2.CREATIVE_FORMAT_BANNER,
            headline=f"{brand}: a shopper favourite",
            body=f"Pick up {best.name} on your way",
            promoted_product_id=best.product_id,
            call_to_action="Show me where",
        )
        plans.append(
            AdvertiserPlan(
                advertiser_id=f"adv-{slug}",
                name=brand,
                campaign_id=f"cmp-{slug}",
                campaign_name=f"{brand} in-store",
                budget_micros=500_000_000,
                creatives=(card, banner),
                line_items=(
                    LineItemPlan(
                        line_item_id=f"li-{slug}-affinity",
                        name=f"{brand} bought-together",
                        pricing_model=common_pb2.PRICING_MODEL_CPM,
                        bid_micros=12_000_000 - rank * 1_000_000,
                        creative_id=card.creative_id,
                        product_ids=tuple(pid for pid, _ in companions.most_common(25)),
                        triggers=(common_pb2.TRIGGER_SCAN,),
                    ),
                    LineItemPlan(
                        line_item_id=f"li-{slug}-aisle",
                        name=f"{brand} aisle {best.aisle_id}",
                        pricing_model=common_pb2.PRICING_MODEL_CPC,
                        bid_micros=600_000 - rank * 50_000,
                        creative_id=banner.creative_id,
                        aisle_ids=(best.aisle_id,),
                        department_ids=(best.department_id,),
                        triggers=(common_pb2.TRIGGER_ZONE_ENTER, common_pb2.TRIGGER_SCAN),
                    ),
                ),
            )
        )
    staple = products[bought.most_common(1)[0][0]]
    house_card = CreativePlan(
        creative_id="cr-house-welcome",
        format=common_pb2.CREATIVE_FORMAT_BANNER,
        headline="Welcome! Fresh deals in every aisle",
        body=f"Today's favourite: {staple.name}",
        promoted_product_id=staple.product_id,
        call_to_action="See deals",
    )
    plans.append(
        AdvertiserPlan(
            advertiser_id="adv-house",
            name="Store house ads",
            campaign_id="cmp-house",
            campaign_name="Welcome and checkout",
            budget_micros=50_000_000,
            creatives=(house_card,),
            line_items=(
                LineItemPlan(
                    line_item_id="li-house-welcome",
                    name="Run of store welcome",
                    pricing_model=common_pb2.PRICING_MODEL_CPM,
                    bid_micros=1_000_000,
                    creative_id=house_card.creative_id,
                    triggers=(common_pb2.TRIGGER_SESSION_START, common_pb2.TRIGGER_CHECKOUT),
                    frequency_cap_per_session=2,
                ),
            ),
        )
    )
    return plans


async def create_store(
    admin: AdminServiceAsyncStub, store_id: str, display_name: str, time_zone: str, catalog: Catalog
) -> None:
    """Create the store and import its whole catalog in one streaming call."""
    await admin.CreateStore(
        admin_pb2.CreateStoreRequest(
            store_id=store_id, store=admin_pb2.Store(display_name=display_name, time_zone=time_zone)
        )
    )
    await admin.ImportCatalog(import_catalog_requests(store_id, catalog))


async def create_advertisers(
    admin: AdminServiceAsyncStub, plans: Sequence[AdvertiserPlan], store_id: str, now: datetime
) -> None:
    """Create each planned advertiser with its campaign, creatives and line items."""
    for plan in plans:
        await admin.CreateAdvertiser(
            admin_pb2.CreateAdvertiserRequest(
                advertiser_id=plan.advertiser_id, advertiser=admin_pb2.Advertiser(display_name=plan.name)
            )
        )
        await admin.CreateCampaign(
            admin_pb2.CreateCampaignRequest(
                campaign_id=plan.campaign_id,
                campaign=admin_pb2.Campaign(
                    advertiser_id=plan.advertiser_id,
                    display_name=plan.campaign_name,
                    start_time=dt_to_ts(now - timedelta(days=1)),
                    end_time=dt_to_ts(now + timedelta(days=30)),
                    budget_micros=plan.budget_micros,
                    state=admin_pb2.SERVING_STATE_ACTIVE,
                ),
            )
        )
        for creative in plan.creatives:
            await admin.CreateCreative(
                admin_pb2.CreateCreativeRequest(
                    creative_id=creative.creative_id,
                    creative=admin_pb2.CreativeSpec(
                        advertiser_id=plan.advertiser_id,
                        display_name=creative.headline,
                        format=creative.format,
                        headline=creative.headline,
                        body=creative.body,
                        promoted_product_id=creative.promoted_product_id,
                        call_to_action=creative.call_to_action,
                    ),
                )
            )
            # Every new creative waits for review; the demo's operator approves its own.
            await admin.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id=creative.creative_id))
        for item in plan.line_items:
            await admin.CreateLineItem(
                admin_pb2.CreateLineItemRequest(
                    line_item_id=item.line_item_id,
                    line_item=admin_pb2.LineItem(
                        campaign_id=plan.campaign_id,
                        display_name=item.name,
                        pricing_model=item.pricing_model,
                        bid_micros=item.bid_micros,
                        targeting=admin_pb2.Targeting(
                            product_ids=item.product_ids,
                            brands=item.brands,
                            aisle_ids=item.aisle_ids,
                            department_ids=item.department_ids,
                            triggers=item.triggers,
                            store_ids=[store_id],
                        ),
                        creative_ids=[item.creative_id],
                        frequency_cap_per_session=item.frequency_cap_per_session,
                        state=admin_pb2.SERVING_STATE_ACTIVE,
                    ),
                )
            )


async def enroll_carts(
    admin: AdminServiceAsyncStub, store_id: str, cart_ids: Sequence[str]
) -> list[CartCredentialEntry]:
    """Enrol each cart through the AdminService (as ``cartads-admin carts enroll`` does); their credentials."""
    entries = []
    for cart_id in cart_ids:
        cart = admin_pb2.Cart(store_id=store_id, cart_id=cart_id, display_name=f"demo {cart_id}")
        response = await admin.CreateCart(admin_pb2.CreateCartRequest(cart=cart))
        entries.append(CartCredentialEntry(store_id=store_id, cart_id=cart_id, credential=response.credential))
    return entries
