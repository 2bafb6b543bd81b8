"""The cart's image proxy: only asset URLs, only bytes that match their hash, kept for offline use."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from cart_client.screen.asset_proxy import AssetProxy, is_asset_url
from cart_client.screen.state import ad_json
from cart_client.trip.core import AdFormat, RecipeLine, ScreenAd
from tests.asset_images import png_bytes

IMAGE = png_bytes(20, 20)
SHA = hashlib.sha256(IMAGE).hexdigest()


@pytest.fixture
async def edge() -> AsyncIterator[tuple[str, list[str]]]:
    """A stand-in edge asset server that serves IMAGE for any name (so wrong names can be tested)."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(body=IMAGE, content_type="image/png")

    app = web.Application()
    app.router.add_get("/assets/{sha}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_a_verified_image_is_fetched_once_and_kept(edge: tuple[str, list[str]]) -> None:
    """The first get fetches from the edge; later gets are served from the cart's copy."""
    base, seen = edge
    proxy = AssetProxy()
    try:
        first = await proxy.get(SHA, f"{base}/assets/{SHA}")
        second = await proxy.get(SHA, f"{base}/assets/{SHA}")
    finally:
        await proxy.close()
    assert first is not None
    assert first.data == IMAGE
    assert second == first
    assert seen == [f"/assets/{SHA}"]


async def test_bytes_that_do_not_match_their_hash_are_refused(edge: tuple[str, list[str]]) -> None:
    """An answer whose sha256 is not the name asked for is never shown."""
    base, _ = edge
    other = "0" * 64
    proxy = AssetProxy()
    try:
        assert await proxy.get(other, f"{base}/assets/{other}") is None
    finally:
        await proxy.close()


def test_only_asset_urls_are_fetched() -> None:
    """A URL must end in /assets/<the hash> over http(s)."""
    assert is_asset_url(f"http://10.0.0.5:8080/assets/{SHA}", SHA)
    assert not is_asset_url(f"http://10.0.0.5/other/{SHA}", SHA)
    assert not is_asset_url(f"file:///assets/{SHA}", SHA)
    assert not is_asset_url("http://10.0.0.5/assets/abc", "abc")


def test_page_gets_the_carts_own_path_and_recipe_lines() -> None:
    """ad_json turns an edge image into /assets/<sha> and lists a recipe's lines with price text."""
    ad = ScreenAd(
        ad_id="a",
        slot_id="s",
        tracking_token="t",
        format=AdFormat.RECIPE,
        image_url=f"http://edge:1/assets/{SHA}",
        image_asset_sha256=SHA,
        recipe_items=(RecipeLine("Lime", "aisle 83 — fresh vegetables", 250_000),),
    )
    page = ad_json(ad)
    assert page["image_url"] == f"/assets/{SHA}"
    assert page["recipe_items"] == [
        {"name": "Lime", "location_hint": "aisle 83 — fresh vegetables", "price_text": "$0.25"}
    ]
