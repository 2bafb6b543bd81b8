"""Sales attribution end to end on both engines: a cart's checkout reaches the edge, the edge credits
purchases to the ads that reached the shopper, the cloud rolls them up and RunReport shows them."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from cartads.rpc.errors import field_violations
from cartads.sample.instacart import Catalog, Product
from cartads.time_units import dt_to_ts
from cartads.v1 import ad_service_pb2, admin_pb2, common_pb2
from tests.eventually import eventually
from tests.integration.engine_loop import engine_loop
from tests.integration.whole_loop import STORE_ID, Loop

ZONE = "zone-3"
LOYAL = "b" * 64
DAY_S = 24 * 3600


@dataclass
class Brand:
    promoted: Product
    sibling: Product


# Every test on SQLite, then PostgreSQL.
loop = engine_loop


def _brand(catalog: Catalog) -> Brand:
    """Two priced products of one brand: one to promote, one for halo."""
    by_brand: dict[str, list[Product]] = {}
    for p in catalog.products:
        if p.brand and p.price_micros > 0:
            by_brand.setdefault(p.brand, []).append(p)
    counts = Counter({b: len(ps) for b, ps in by_brand.items()})
    brand = next(b for b, n in counts.most_common() if n >= 2)
    first, second = sorted(by_brand[brand], key=lambda p: p.product_id)[:2]
    return Brand(first, second)


async def _sales_campaign(loop: Loop, brand: Brand, *, vt_window_s: int = 0) -> None:
    """A campaign promoting ``brand.promoted`` to carts entering ZONE, with the given view-through window."""
    now = datetime.now(UTC)
    await loop.admin.CreateAdvertiser(
        admin_pb2.CreateAdvertiserRequest(advertiser_id="adv-sales", advertiser=admin_pb2.Advertiser(display_name="S"))
    )
    await loop.admin.CreateCampaign(
        admin_pb2.CreateCampaignRequest(
            campaign_id="cmp-sales",
            campaign=admin_pb2.Campaign(
                advertiser_id="adv-sales",
                display_name="sales",
                start_time=dt_to_ts(now - timedelta(days=1)),
                end_time=dt_to_ts(now + timedelta(days=30)),
                budget_micros=10**12,
                state=admin_pb2.SERVING_STATE_ACTIVE,
            ),
        )
    )
    if vt_window_s:
        await loop.admin.UpdateCampaign(
            admin_pb2.UpdateCampaignRequest(
                campaign=admin_pb2.Campaign(campaign_id="cmp-sales", view_through_window_s=vt_window_s),
                update_mask={"paths": ["view_through_window_s"]},
            )
        )
    await loop.admin.CreateCreative(
        admin_pb2.CreateCreativeRequest(
            creative_id="cr-sales",
            creative=admin_pb2.CreativeSpec(
                advertiser_id="adv-sales",
                display_name="sales",
                format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
                headline=brand.promoted.name,
                promoted_product_id=brand.promoted.product_id,
                call_to_action="Add",
            ),
        )
    )
    await loop.admin.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id="cr-sales"))
    before = loop.edge.index_version
    await loop.admin.CreateLineItem(
        admin_pb2.CreateLineItemRequest(
            line_item_id="li-sales",
            line_item=admin_pb2.LineItem(
                campaign_id="cmp-sales",
                display_name="sales",
                pricing_model=common_pb2.PRICING_MODEL_CPM,
                bid_micros=500_000_000,
                targeting=admin_pb2.Targeting(zone_ids=[ZONE]),
                creative_ids=["cr-sales"],
                state=admin_pb2.SERVING_STATE_ACTIVE,
            ),
        )
    )
    await eventually(lambda: loop.edge.index_version != before, interval_s=0.01, what="the sales line item served")


class Trip:
    """One cart trip reported by hand."""

    def __init__(self, loop: Loop, cart_id: str) -> None:
        self.loop = loop
        self.cart_id = cart_id
        self.session_id = uuid.uuid4().hex
        self.n = 0
        self.ad: ad_service_pb2.Ad | None = None

    def _event(self, kind: int, **fields: object) -> common_pb2.CartEvent:
        self.n += 1
        return common_pb2.CartEvent(
            event_id=f"{self.session_id}-{self.n}",
            type=kind,  # type: ignore[arg-type]
            cart_id=self.cart_id,
            session_id=self.session_id,
            **fields,  # type: ignore[arg-type]
        )

    async def report(self, *events: common_pb2.CartEvent) -> None:
        await self.loop.ads.ReportEvents(
            ad_service_pb2.ReportEventsRequest(store_id=STORE_ID, cart_id=self.cart_id, events=list(events))
        )

    async def see_ad(self, *, click: bool = False) -> None:
        response = await self.loop.ads.GetAds(
            ad_service_pb2.GetAdsRequest(
                store_id=STORE_ID,
                cart_id=self.cart_id,
                session_id=self.session_id,
                trigger=common_pb2.TRIGGER_ZONE_ENTER,
                zone_id=ZONE,
                max_ads=1,
            )
        )
        (self.ad,) = response.ads
        assert self.ad.line_item_id == "li-sales"
        token = {"tracking_token": self.ad.tracking_token, "ad_id": self.ad.ad_id}
        events = [self._event(common_pb2.EVENT_TYPE_IMPRESSION, visible_duration_ms=1_000, **token)]
        if click:
            events.append(self._event(common_pb2.EVENT_TYPE_CLICK, **token))
        await self.report(*events)

    def add(self, product: Product, quantity: int = 1) -> common_pb2.CartEvent:
        return self._event(common_pb2.EVENT_TYPE_BASKET_ADD, product_id=product.product_id, quantity=quantity)

    def remove(self, product: Product, quantity: int = 1) -> common_pb2.CartEvent:
        return self._event(common_pb2.EVENT_TYPE_BASKET_REMOVE, product_id=product.product_id, quantity=quantity)

    def checkout(self, *lines: tuple[Product, int], loyalty_id: str = "") -> common_pb2.CartEvent:
        return self._event(
            common_pb2.EVENT_TYPE_CHECKOUT,
            purchased_lines=[common_pb2.BasketLine(product_id=p.product_id, quantity=q) for p, q in lines],
            loyalty_id=loyalty_id,
        )


async def _totals(loop: Loop) -> admin_pb2.ReportMetrics:
    await loop.edge.wait_for_upload(timeout_s=10.0)
    request = admin_pb2.RunReportRequest(dimensions=[admin_pb2.REPORT_DIMENSION_CAMPAIGN], campaign_ids=["cmp-sales"])
    request.start_time.FromSeconds(int(time.time()) - 7200)
    request.end_time.FromSeconds(int(time.time()) + 7200)
    return (await loop.admin.RunReport(request)).totals


def _sales(m: admin_pb2.ReportMetrics) -> tuple[int, int, int, int, int, int]:
    return (
        m.click_through_sales_units,
        m.click_through_sales_micros,
        m.view_through_sales_units,
        m.view_through_sales_micros,
        m.halo_sales_units,
        m.halo_sales_micros,
    )


async def test_clicked_purchase_is_click_through_and_brand_sibling_is_halo(loop: Loop) -> None:
    """Clicked ad, then the promoted product and a same-brand product bought: CT sale and halo sale in the report."""
    brand = _brand(loop.catalog)
    await _sales_campaign(loop, brand)
    trip = Trip(loop, "cart-1")
    await trip.see_ad(click=True)
    await trip.report(
        trip.add(brand.promoted, 2), trip.add(brand.sibling), trip.checkout((brand.promoted, 2), (brand.sibling, 1))
    )
    price, sibling = brand.promoted.price_micros, brand.sibling.price_micros
    assert _sales(await _totals(loop)) == (2, 2 * price, 0, 0, 1, sibling)


async def test_viewed_purchase_is_view_through(loop: Loop) -> None:
    """A viewable impression without a click, then a purchase of the promoted product: a view-through sale."""
    brand = _brand(loop.catalog)
    await _sales_campaign(loop, brand)
    trip = Trip(loop, "cart-1")
    await trip.see_ad()
    await trip.report(trip.add(brand.promoted), trip.checkout((brand.promoted, 1)))
    assert _sales(await _totals(loop)) == (0, 0, 1, brand.promoted.price_micros, 0, 0)


async def test_removal_before_checkout_undoes_the_sale(loop: Loop) -> None:
    """The promoted product added then removed before checkout is not a sale, though the checkout lists it."""
    brand = _brand(loop.catalog)
    await _sales_campaign(loop, brand)
    trip = Trip(loop, "cart-1")
    await trip.see_ad(click=True)
    await trip.report(trip.add(brand.promoted), trip.remove(brand.promoted), trip.checkout((brand.promoted, 1)))
    totals = await _totals(loop)
    assert totals.impressions == 1
    assert _sales(totals) == (0, 0, 0, 0, 0, 0)


async def test_claimed_units_prices_and_unscanned_products_are_not_believed(loop: Loop) -> None:
    """A checkout claiming 999 units at a made-up price, and a product never scanned: 1 unit at shelf price."""
    brand = _brand(loop.catalog)
    await _sales_campaign(loop, brand)
    trip = Trip(loop, "cart-1")
    await trip.see_ad(click=True)
    checkout = trip.checkout((brand.promoted, 999), (brand.sibling, 5))
    checkout.unit_price_micros = 999_000_000  # a cart's price is never read
    await trip.report(trip.add(brand.promoted), checkout)
    assert _sales(await _totals(loop)) == (1, brand.promoted.price_micros, 0, 0, 0, 0)


async def test_replayed_checkout_counts_once(loop: Loop) -> None:
    """The same checkout resent, and again under a new event id: the sale counts once."""
    brand = _brand(loop.catalog)
    await _sales_campaign(loop, brand)
    trip = Trip(loop, "cart-1")
    await trip.see_ad(click=True)
    checkout = trip.checkout((brand.promoted, 1))
    await trip.report(trip.add(brand.promoted), checkout)
    await trip.report(checkout)
    await trip.report(trip.checkout((brand.promoted, 1)))
    assert _sales(await _totals(loop))[:2] == (1, brand.promoted.price_micros)


async def test_loyalty_id_links_an_earlier_trip_on_another_cart(loop: Loop) -> None:
    """An ad seen on one cart's trip credits a purchase on another cart's later trip with the same loyalty id."""
    brand = _brand(loop.catalog)
    await _sales_campaign(loop, brand, vt_window_s=7 * DAY_S)
    seen = Trip(loop, "cart-1")
    await seen.see_ad()
    await seen.report(seen.checkout(loyalty_id=LOYAL))
    bought = Trip(loop, "cart-2")
    await bought.report(bought.add(brand.promoted), bought.checkout((brand.promoted, 1), loyalty_id=LOYAL))
    assert _sales(await _totals(loop)) == (0, 0, 1, brand.promoted.price_micros, 0, 0)


async def test_same_trip_window_links_no_earlier_trip(loop: Loop) -> None:
    """With the default window (the same trip) the same loyalty id credits nothing on a later trip."""
    brand = _brand(loop.catalog)
    await _sales_campaign(loop, brand)
    seen = Trip(loop, "cart-1")
    await seen.see_ad(click=True)
    await seen.report(seen.checkout(loyalty_id=LOYAL))
    bought = Trip(loop, "cart-2")
    await bought.report(bought.add(brand.promoted), bought.checkout((brand.promoted, 1), loyalty_id=LOYAL))
    assert _sales(await _totals(loop)) == (0, 0, 0, 0, 0, 0)


async def test_loyalty_id_on_many_carts_at_once_links_nothing(loop: Loop) -> None:
    """A loyalty id checked out on three carts within the hour is shared: the third trip gets no credit."""
    brand = _brand(loop.catalog)
    await _sales_campaign(loop, brand, vt_window_s=7 * DAY_S)
    seen = Trip(loop, "cart-1")
    await seen.see_ad()
    await seen.report(seen.checkout(loyalty_id=LOYAL))
    other = Trip(loop, "cart-2")
    await other.report(other.checkout(loyalty_id=LOYAL))
    bought = Trip(loop, "cart-3")
    await bought.report(bought.add(brand.promoted), bought.checkout((brand.promoted, 1), loyalty_id=LOYAL))
    assert _sales(await _totals(loop)) == (0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"purchased_lines": [common_pb2.BasketLine(product_id="p", quantity=2**31 - 1)]},
            "purchased_lines[0].quantity",
        ),
        ({"loyalty_id": "4111111111111111"}, "loyalty_id"),
        ({"cross_trip": True}, "cross_trip"),
        ({"type": common_pb2.EVENT_TYPE_ATTRIBUTED_SALE}, "type"),
    ],
)
async def test_hostile_checkout_is_refused_naming_the_field(loop: Loop, change: dict[str, object], field: str) -> None:
    """2^31 units, a raw loyalty number, an edge-only flag or a sale made up by the cart: INVALID_ARGUMENT naming it."""
    trip = Trip(loop, "cart-1")
    event = trip.checkout()
    for name, value in change.items():
        if name == "purchased_lines":
            event.purchased_lines.extend(value)  # type: ignore[arg-type]
        else:
            setattr(event, name, value)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await trip.report(event)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"events[0].{field}" in [f for f, _ in field_violations(caught.value)]


@pytest.mark.parametrize("name", ["click_through_window_s", "view_through_window_s"])
@pytest.mark.parametrize("value", [-1, 14 * DAY_S + 1])
async def test_campaign_window_out_of_range_is_invalid_argument(loop: Loop, name: str, value: int) -> None:
    """A negative window, or one past 14 days, is refused with the field named."""
    campaign = admin_pb2.Campaign(campaign_id="cmp-house")
    setattr(campaign, name, value)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await loop.admin.UpdateCampaign(
            admin_pb2.UpdateCampaignRequest(campaign=campaign, update_mask={"paths": [name]})
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"campaign.{name}" in [f for f, _ in field_violations(caught.value)]


async def test_campaign_windows_are_stored(loop: Loop) -> None:
    """Windows set by UpdateCampaign come back from GetCampaign."""
    campaign = admin_pb2.Campaign(campaign_id="cmp-house", click_through_window_s=DAY_S, view_through_window_s=3600)
    await loop.admin.UpdateCampaign(
        admin_pb2.UpdateCampaignRequest(
            campaign=campaign, update_mask={"paths": ["click_through_window_s", "view_through_window_s"]}
        )
    )
    got = (await loop.admin.GetCampaign(admin_pb2.GetCampaignRequest(campaign_id="cmp-house"))).campaign
    assert (got.click_through_window_s, got.view_through_window_s) == (DAY_S, 3600)
