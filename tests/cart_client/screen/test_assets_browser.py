"""The cart's page draws edge-served images and recipe items, and loads nothing from off the machine.

Every request the page makes is checked: any to a host outside loopback fails the test. Needs
Debian's chromium and playwright like the other browser tests (skips locally without them, fails
under CI=true).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from cart_client.sensors.trace import Zone
from cartads.v1 import ad_service_pb2, asset_pb2, common_pb2
from cloud_core.admin.asset_check import check_asset
from edge_node.assets.http import AssetHttpServer, start_asset_server
from edge_node.assets.store import AssetStore
from tests.asset_images import HOSTILE_SVG, png_bytes
from tests.cart_client.fakes import FakeAdService
from tests.cart_client.live_cart import live_cart
from tests.edge_node.helpers import edge_config

if TYPE_CHECKING:
    from playwright.async_api import Browser, Request, Route

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture
async def edge_assets(tmp_path: Path) -> AsyncIterator[tuple[AssetHttpServer, dict[str, str]]]:
    """The edge's asset server with a PNG and a (sanitised) hostile SVG; their hashes by name."""
    store = AssetStore.open(edge_config(tmp_path, 1))
    hashes: dict[str, str] = {}
    for name, data in (("png", png_bytes(96, 96, (250, 180, 0))), ("svg", check_asset(HOSTILE_SVG).data)):
        sha = hashlib.sha256(data).hexdigest()
        kind = "image/png" if name == "png" else "image/svg+xml"
        store.put_many([asset_pb2.Asset(sha256=sha, content_type=kind, width=96, height=96, data=data)])
        hashes[name] = sha
    server = await start_asset_server("127.0.0.1:0", store)
    try:
        yield server, hashes
    finally:
        await server.stop()
        store.close()


async def test_page_draws_edge_images_and_recipe_items_from_loopback_only(
    browser: Browser, tmp_path: Path, artifacts: Path, edge_assets: tuple[AssetHttpServer, dict[str, str]]
) -> None:
    """Images reach the page through the cart from the edge; recipe items show aisles; no request leaves loopback."""
    server, hashes = edge_assets
    creatives = {
        common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT: common_pb2.Creative(
            format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
            headline="Ripe bananas",
            call_to_action="Add to cart",
            image_asset_sha256=hashes["png"],
            image_url=f"{server.base_url}/assets/{hashes['png']}",
        ),
        common_pb2.CREATIVE_FORMAT_BANNER: common_pb2.Creative(
            format=common_pb2.CREATIVE_FORMAT_BANNER,
            headline="Fresh week",
            image_asset_sha256=hashes["svg"],
            image_url=f"{server.base_url}/assets/{hashes['svg']}",
        ),
        common_pb2.CREATIVE_FORMAT_COUPON: common_pb2.Creative(
            format=common_pb2.CREATIVE_FORMAT_COUPON, headline="Dairy", offer_text="$1 off", coupon_code="MILK1"
        ),
        common_pb2.CREATIVE_FORMAT_RECIPE: common_pb2.Creative(
            format=common_pb2.CREATIVE_FORMAT_RECIPE,
            headline="Guacamole",
            recipe_items=[
                common_pb2.RecipeItem(name="Avocado", location_hint="aisle 24 — fresh fruits", price_micros=990_000),
                common_pb2.RecipeItem(name="Lime", location_hint="aisle 83 — fresh vegetables"),
            ],
        ),
    }

    def ads_for(request: ad_service_pb2.GetAdsRequest) -> list[ad_service_pb2.Ad]:
        return [
            ad_service_pb2.Ad(
                ad_id=f"ad-{request.request_id}-{slot.slot_id}",
                slot_id=slot.slot_id,
                tracking_token=f"t-{slot.slot_id}",
                creative=creatives[slot.format],
            )
            for slot in request.slots
        ]

    off_machine: list[str] = []
    async with live_cart(tmp_path, FakeAdService(ads_for=ads_for)) as cart:
        await cart.session.sensor(Zone("zone-24"), 0)
        page = await browser.new_page(viewport={"width": 1280, "height": 1400})
        page.set_default_timeout(10_000)

        async def guard(route: Route, request: Request) -> None:
            if urlsplit(request.url).hostname not in LOOPBACK:
                off_machine.append(request.url)
                await route.abort()
            else:
                await route.continue_()

        await page.route("**/*", guard)
        await page.goto(cart.screen.url)
        await page.wait_for_selector(".ad.recipe")
        await page.wait_for_function(
            "() => [...document.querySelectorAll('.ad img')].length === 2 &&"
            " [...document.querySelectorAll('.ad img')].every(i => i.complete && i.naturalWidth > 0)"
        )
        sources = await page.eval_on_selector_all(".ad img", "imgs => imgs.map(i => i.getAttribute('src'))")
        assert sources == [f"/assets/{hashes['png']}", f"/assets/{hashes['svg']}"]
        items = await page.locator(".ad.recipe .recipe-items li").all_inner_texts()
        assert [" ".join(i.split()) for i in items] == [
            "Avocado aisle 24 — fresh fruits $0.99",
            "Lime aisle 83 — fresh vegetables",
        ]
        assert cart.screen.assets.fetches == 2
        await page.screenshot(path=str(artifacts / "cart-screen-assets.png"))
        await page.close()
    assert off_machine == []
