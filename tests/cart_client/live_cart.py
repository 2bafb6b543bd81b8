"""A small catalog, creatives of every format, and a live cart screen on loopback for the screen tests."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc

from cart_client.app.outbox import SqliteOutbox
from cart_client.app.session import CartSession
from cart_client.screen.server import SCREEN_SLOTS, CartScreen, ScreenConfig
from cart_client.trip.catalog import CartCatalog, CatalogItem
from cart_client.trip.core import CartTrip
from cartads.v1 import ad_service_pb2, ad_service_pb2_grpc, common_pb2
from tests.cart_client.fakes import FakeAdService
from tests.cart_client.grpc_fake import RunningFake, fake_edge

CATALOG = CartCatalog(
    [
        CatalogItem("24852", "Banana", 290_000, 120.0, 24.0, "produce", "24", "fresh fruits", "zone-24"),
        CatalogItem("27845", "Organic Whole Milk", 4_490_000, 1_050.0, 105.0, "dairy eggs", "84", "milk", "zone-84"),
        CatalogItem(
            "21137", "Organic Strawberries", 4_990_000, 450.0, 90.0, "produce", "24", "fresh fruits", "zone-24"
        ),
        CatalogItem("196", "Soda", 1_290_000, 360.0, 36.0, "beverages", "77", "soft drinks", "zone-77"),
    ]
)

_CREATIVES = {
    common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT: common_pb2.Creative(
        format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
        headline="Organic Strawberries",
        body="Picked this week, sweet and juicy",
        call_to_action="Find it",
        location_hint="aisle 24 — fresh fruits",
        price_micros=4_990_000,
        promoted_product_id="21137",
    ),
    common_pb2.CREATIVE_FORMAT_BANNER: common_pb2.Creative(
        format=common_pb2.CREATIVE_FORMAT_BANNER,
        headline="Summer of Soda",
        body="Every 12-pack, all week long",
        call_to_action="See flavours",
    ),
    common_pb2.CREATIVE_FORMAT_COUPON: common_pb2.Creative(
        format=common_pb2.CREATIVE_FORMAT_COUPON,
        headline="Dairy Days",
        body="Any organic milk, half gallon or larger",
        offer_text="$1.00 off",
        coupon_code="MILK100",
    ),
    common_pb2.CREATIVE_FORMAT_RECIPE: common_pb2.Creative(
        format=common_pb2.CREATIVE_FORMAT_RECIPE,
        headline="Strawberry smoothie",
        body="Strawberries · Banana · Whole milk · Honey",
        call_to_action="See recipe",
    ),
}


def every_format(request: ad_service_pb2.GetAdsRequest) -> list[ad_service_pb2.Ad]:
    """One ad per slot with the creative of the slot's format; ids unique per decision."""
    return [
        ad_service_pb2.Ad(
            ad_id=f"ad-{request.request_id}-{slot.slot_id}",
            campaign_id="camp-1",
            line_item_id=f"li-{slot.slot_id}",
            slot_id=slot.slot_id,
            tracking_token=f"token-{request.request_id}-{slot.slot_id}",
            creative=_CREATIVES[slot.format],
        )
        for slot in request.slots
    ]


@dataclass
class LiveCart:
    """A cart screen wired to a fake edge."""

    edge: RunningFake
    fake: FakeAdService
    screen: CartScreen
    session: CartSession


@asynccontextmanager
async def live_cart(
    state_dir: Path, fake: FakeAdService | None = None, *, store_name: str = "Demo Market"
) -> AsyncIterator[LiveCart]:
    """A fake edge on port 0 and a cart screen on port 0 talking to it over real gRPC; the screen asks
    the edge for the store's names (``fake.store_info``) unless ``store_name`` names the store."""
    fake = fake or FakeAdService(ads_for=every_format)
    counter = itertools.count(1)
    async with fake_edge(fake) as edge, grpc.aio.insecure_channel(edge.address) as channel:
        trip = CartTrip(
            store_id="store-1",
            cart_id="cart-1",
            session_id="trip-1",
            new_id=lambda: f"id-{next(counter)}",
            slots=SCREEN_SLOTS,
            catalog=CATALOG,
            impressions_on_render=False,
        )
        outbox = SqliteOutbox(state_dir)
        stub = ad_service_pb2_grpc.AdServiceStub(channel)
        session = CartSession(stub, trip, outbox, ads_deadline_s=1.0)
        config = ScreenConfig(store_name=store_name, retry_min_s=0.05, retry_max_s=0.2)
        screen = CartScreen(session, config, store_info=stub if fake.store_info is not None else None)
        await screen.start()
        try:
            yield LiveCart(edge, fake, screen, session)
        finally:
            await screen.stop()
            outbox.close()
