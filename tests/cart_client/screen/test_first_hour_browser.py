"""What a shopper sees on the cart's screen when no ad fills a slot, in the header, and on a coupon, in
headless Chromium against a cart screen talking to a real grpc.aio edge fake.

Needs Debian's chromium and playwright like the other browser tests; without them the tests skip
locally and fail under CI=true. The screenshot lands in artifacts/cart-screen-house.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cart_client.sensors.trace import Scan, Weight, Zone
from cartads.v1 import ad_service_pb2, common_pb2
from tests.cart_client.fakes import FakeAdService
from tests.cart_client.live_cart import live_cart
from tests.eventually import eventually

if TYPE_CHECKING:
    from playwright.async_api import Browser

STORE_INFO = ad_service_pb2.GetStoreInfoResponse(
    store_id="store-1",
    display_name="Demo Market",
    zones=[
        ad_service_pb2.StoreZone(zone_id="zone-24", aisle_id="24", display_name="fresh fruits"),
        ad_service_pb2.StoreZone(zone_id="zone-84", aisle_id="84", display_name="milk"),
    ],
)


def coupon_only(request: ad_service_pb2.GetAdsRequest) -> list[ad_service_pb2.Ad]:
    """A coupon with its call to action and where the product is, in the coupon slot; nothing elsewhere."""
    creative = common_pb2.Creative(
        format=common_pb2.CREATIVE_FORMAT_COUPON,
        headline="Dairy Days",
        body="Any organic milk, half gallon or larger",
        offer_text="$1.00 off",
        coupon_code="MILK100",
        call_to_action="Clip the coupon",
        location_hint="aisle 84 — milk",
    )
    return [
        ad_service_pb2.Ad(
            ad_id=f"ad-{request.request_id}-{slot.slot_id}",
            slot_id=slot.slot_id,
            tracking_token=f"token-{request.request_id}-{slot.slot_id}",
            creative=creative,
        )
        for slot in request.slots
        if slot.format == common_pb2.CREATIVE_FORMAT_COUPON
    ]


async def test_no_fill_shows_house_content_that_is_never_billed(
    browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    """With no ad to give, every slot shows the store's content (a product of this aisle among it); none bills."""
    async with live_cart(tmp_path, FakeAdService(ads_for=lambda _request: [])) as cart:
        await cart.session.sensor(Zone("zone-24"), 0)
        await cart.session.sensor(Scan("24852"), 4_000)
        await cart.session.sensor(Weight(118.0), 5_000)
        page = await browser.new_page(viewport={"width": 1280, "height": 1200})
        page.set_default_timeout(10_000)
        await page.goto(cart.screen.url)
        await page.wait_for_selector(".ad.recipe")
        cards = page.locator("#slots .ad")
        assert await cards.count() == 4
        assert set(await page.eval_on_selector_all("#slots .ad", "cs => cs.map(c => c.dataset.house)")) == {"1"}
        assert set(await page.locator("#slots .ad .tag").all_text_contents()) == {"From the store"}
        # The product slot suggests what is on this aisle's shelves and not in the basket yet.
        product = await page.inner_text(".ad.sponsored_product")
        assert "Organic Strawberries" in product
        assert "$4.99" in product
        assert "aisle 24 — fresh fruits" in product
        shot = artifacts / "cart-screen-house.png"
        await page.screenshot(path=str(shot))
        # Neither a second in view nor a tap reports anything: the next basket add is all that arrives.
        await page.click(".ad.sponsored_product")
        await page.locator("#toast").wait_for()
        assert await page.inner_text("#toast") == "Find it in aisle 24 — fresh fruits"
        await cart.session.sensor(Scan("27845"), 9_000)
        await cart.session.sensor(Weight(1_046.0), 10_000)
        await eventually(lambda: len(cart.fake.journaled(common_pb2.EVENT_TYPE_BASKET_ADD)) == 2, timeout_s=10.0)
        assert await page.evaluate("() => viewTimers.size === 0 && reportedViews.size === 0")
        assert not cart.fake.journaled(common_pb2.EVENT_TYPE_IMPRESSION)
        assert not cart.fake.journaled(common_pb2.EVENT_TYPE_CLICK)


async def test_header_names_the_store_and_the_aisle(browser: Browser, tmp_path: Path) -> None:
    """The header shows the store's name and the aisle's name the edge gives, not "store-1" and "aisle 24"."""
    async with live_cart(
        tmp_path, FakeAdService(ads_for=lambda _request: [], store_info=STORE_INFO), store_name=""
    ) as cart:
        page = await browser.new_page()
        page.set_default_timeout(10_000)
        await page.goto(cart.screen.url)
        await eventually(lambda: cart.screen.store_name == "Demo Market", timeout_s=10.0)
        await cart.session.sensor(Zone("zone-84"), 0)
        await page.wait_for_function("() => document.getElementById('zone').textContent.includes('Milk')")
        assert await page.inner_text("#store-name") == "Demo Market"
        assert await page.inner_text("#zone") == "You are in Milk (aisle 84)"
        (asked,) = cart.fake.store_info_requests
        assert (asked.store_id, asked.cart_id) == ("store-1", "cart-1")


async def test_header_falls_back_to_the_catalogs_aisle_names(browser: Browser, tmp_path: Path) -> None:
    """An edge that cannot say the store's names leaves the catalog's aisle name and a neutral title."""
    async with live_cart(tmp_path, FakeAdService(ads_for=lambda _request: []), store_name="") as cart:
        page = await browser.new_page()
        page.set_default_timeout(10_000)
        await page.goto(cart.screen.url)
        await cart.session.sensor(Zone("zone-24"), 0)
        await page.wait_for_function("() => document.getElementById('zone').textContent !== 'Welcome'")
        assert await page.inner_text("#zone") == "You are in Fresh fruits (aisle 24)"
        assert await page.inner_text("#store-name") == "Smart cart"


async def test_a_coupon_shows_its_call_to_action_and_where_the_product_is(browser: Browser, tmp_path: Path) -> None:
    """The coupon card draws the call to action and the location hint the edge sent with it."""
    async with live_cart(tmp_path, FakeAdService(ads_for=coupon_only)) as cart:
        await cart.session.sensor(Zone("zone-84"), 0)
        await cart.session.sensor(Scan("24852"), 2_000)
        page = await browser.new_page()
        page.set_default_timeout(10_000)
        await page.goto(cart.screen.url)
        await page.wait_for_selector(".ad.coupon[data-house='0']")
        coupon = page.locator(".ad.coupon[data-house='0']")
        assert await coupon.locator(".cta").inner_text() == "Clip the coupon"
        assert await coupon.locator(".where-pill").inner_text() == "aisle 84 — milk"
        assert "MILK100" in await coupon.inner_text()
