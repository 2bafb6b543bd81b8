"""Creatives end to end: an uploaded image reaches the edge with the index, is served by hash over
HTTP, keeps being served with the cloud stopped, and GetAds points at it."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import grpc
import pytest

from cartads.rpc.bearer import aio_channel
from cartads.rpc.errors import field_violations
from cartads.time_units import dt_to_ts
from cartads.v1 import ad_service_pb2, admin_pb2, common_pb2, index_pb2
from cartads.v1.ad_service_pb2_grpc import AdServiceStub
from cartads.v1.admin_pb2_grpc import AdminServiceStub
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer, start_cloud
from cloud_core.compile.product_card import render_product_card
from cloud_core.config import CloudConfig
from edge_node.app.server import EdgeServer, start_edge
from edge_node.config import EdgeConfig
from edge_node.errors import IndexRejectedError
from edge_node.sync.update_assembler import Ready
from tests.asset_images import HOSTILE_SVG, png_bytes
from tests.edge_node.helpers import edge_config
from tests.eventually import eventually

if TYPE_CHECKING:
    from cartads.v1.ad_service_pb2_grpc import AdServiceAsyncStub
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

STORE = "store-a"


@dataclass
class Setup:
    cloud: CloudServer
    admin: AdminServiceAsyncStub
    channel: grpc.aio.Channel
    tmp: Path
    edge_token: str = ""
    # The enrolled credential of cart-1, which asks the edge for ads.
    credential: str = ""


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    """A cloud with one small store (three products in two aisles), an advertiser and a campaign."""
    cloud = await start_cloud(CloudConfig(db=str(tmp_path / "cloud.sqlite3"), listen_address="127.0.0.1:0"))
    channel = aio_channel(f"127.0.0.1:{cloud.port}", await cloud.mint_token(Role.ADMIN))
    admin: AdminServiceAsyncStub = AdminServiceStub(channel)
    await admin.CreateStore(admin_pb2.CreateStoreRequest(store_id=STORE, store=admin_pb2.Store(display_name="A")))

    async def catalog() -> AsyncIterator[admin_pb2.ImportCatalogRequest]:
        yield admin_pb2.ImportCatalogRequest(
            store_id=STORE,
            aisles=[
                admin_pb2.Aisle(aisle_id="24", display_name="fresh fruits"),
                admin_pb2.Aisle(aisle_id="83", display_name="fresh vegetables"),
            ],
            departments=[admin_pb2.Department(department_id="4", display_name="produce")],
            products=[
                admin_pb2.Product(
                    product_id="p1", display_name="Bananas", aisle_id="24", department_id="4", price_micros=1_290_000
                ),
                admin_pb2.Product(
                    product_id="p2", display_name="Avocado", aisle_id="24", department_id="4", price_micros=990_000
                ),
                admin_pb2.Product(
                    product_id="p3", display_name="Lime", aisle_id="83", department_id="4", price_micros=250_000
                ),
            ],
        )

    await admin.ImportCatalog(catalog())
    await admin.CreateAdvertiser(
        admin_pb2.CreateAdvertiserRequest(advertiser_id="adv", advertiser=admin_pb2.Advertiser(display_name="Adv"))
    )
    now = datetime.now(UTC)
    await admin.CreateCampaign(
        admin_pb2.CreateCampaignRequest(
            campaign_id="cmp",
            campaign=admin_pb2.Campaign(
                advertiser_id="adv",
                display_name="Cmp",
                start_time=dt_to_ts(now - timedelta(days=1)),
                end_time=dt_to_ts(now + timedelta(days=10)),
                budget_micros=100_000_000,
            ),
        )
    )
    cart = admin_pb2.Cart(store_id=STORE, cart_id="cart-1")
    enrolled = await admin.CreateCart(admin_pb2.CreateCartRequest(cart=cart))
    try:
        edge_token = await cloud.mint_token(Role.EDGE, store_id=STORE)
        yield Setup(cloud, admin, channel, tmp_path, edge_token, enrolled.credential)
    finally:
        await channel.close(None)
        await cloud.stop(0.2)


async def _upload(admin: AdminServiceAsyncStub, data: bytes, chunk: int = 1000) -> admin_pb2.UploadAssetResponse:
    async def requests() -> AsyncIterator[admin_pb2.UploadAssetRequest]:
        yield admin_pb2.UploadAssetRequest(filename="image.bin")
        for start in range(0, len(data), chunk):
            yield admin_pb2.UploadAssetRequest(chunk=data[start : start + chunk])

    return await admin.UploadAsset(requests())


async def _creative(admin: AdminServiceAsyncStub, creative_id: str, **fields: object) -> None:
    spec = admin_pb2.CreativeSpec(advertiser_id="adv", display_name=creative_id, **fields)  # type: ignore[arg-type]
    await admin.CreateCreative(admin_pb2.CreateCreativeRequest(creative_id=creative_id, creative=spec))
    await admin.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id=creative_id))


async def _line_item(admin: AdminServiceAsyncStub, creative_ids: list[str]) -> None:
    await admin.CreateLineItem(
        admin_pb2.CreateLineItemRequest(
            line_item_id="li",
            line_item=admin_pb2.LineItem(
                campaign_id="cmp",
                display_name="Li",
                pricing_model=common_pb2.PRICING_MODEL_CPM,
                bid_micros=5_000_000,
                creative_ids=creative_ids,
            ),
        )
    )


def _edge_config(setup: Setup) -> EdgeConfig:
    """The store's edge, serving its assets over HTTP too."""
    return edge_config(
        setup.tmp,
        setup.cloud.port,
        store_id=STORE,
        cloud_token=setup.edge_token,
        asset_listen_address="127.0.0.1:0",
    )


async def _get_ads(edge: EdgeServer, credential: str) -> list[ad_service_pb2.Ad]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{edge.port}") as channel:
        stub: AdServiceAsyncStub = AdServiceStub(channel)
        response = await stub.GetAds(
            ad_service_pb2.GetAdsRequest(
                store_id=STORE,
                cart_id="cart-1",
                cart_credential=credential,
                session_id="s1",
                request_id="r1",
                max_ads=3,
                trigger=common_pb2.TRIGGER_SESSION_START,
            )
        )
    return list(response.ads)


async def _fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers or {}) as response:
        return response.status, await response.read(), {k.lower(): v for k, v in response.headers.items()}


async def test_uploaded_image_travels_to_the_edge_and_is_served_offline(setup: Setup) -> None:
    """Upload, create, edge receives and serves the asset, GetAds points at it, bytes match, cloud stopped."""
    image = png_bytes(80, 60)
    uploaded = (await _upload(setup.admin, image)).asset
    assert uploaded.sha256 == hashlib.sha256(image).hexdigest()
    await _creative(
        setup.admin, "cr-banner", format=common_pb2.CREATIVE_FORMAT_BANNER, headline="Fruit week",
        image_asset_sha256=uploaded.sha256,
    )  # fmt: skip
    await _line_item(setup.admin, ["cr-banner"])
    edge = await start_edge(_edge_config(setup))
    try:
        await edge.wait_for_index(timeout_s=10.0)
        ads = await _get_ads(edge, setup.credential)
        assert edge.assets is not None
        assert edge.assets.port is not None
        expected_url = f"http://127.0.0.1:{edge.assets.port}/assets/{uploaded.sha256}"
        assert [ad.creative.image_url for ad in ads] == [expected_url]
        assert ads[0].creative.image_asset_sha256 == uploaded.sha256
        status, body, headers = await _fetch(expected_url)
        assert status == 200
        assert hashlib.sha256(body).hexdigest() == uploaded.sha256
        assert headers["content-type"] == "image/png"
        assert headers["cache-control"] == "public, max-age=31536000, immutable"
        assert headers["etag"] == f'"{uploaded.sha256}"'
        await setup.cloud.stop(0.1)
        status, body, _ = await _fetch(expected_url)
        assert status == 200
        assert body == image
    finally:
        await edge.stop(0.2)


async def test_an_edge_restarted_offline_still_serves_its_assets(setup: Setup) -> None:
    """Assets are durable in LMDB: after a restart with the cloud gone, the stored index's images serve."""
    uploaded = (await _upload(setup.admin, png_bytes(40, 40))).asset
    await _creative(
        setup.admin, "cr-banner", format=common_pb2.CREATIVE_FORMAT_BANNER, headline="Fruit week",
        image_asset_sha256=uploaded.sha256,
    )  # fmt: skip
    await _line_item(setup.admin, ["cr-banner"])
    config = _edge_config(setup)
    edge = await start_edge(config)
    await edge.wait_for_index(timeout_s=10.0)
    await edge.stop(0.2)
    await setup.cloud.stop(0.1)
    edge = await start_edge(config)
    try:
        ads = await _get_ads(edge, setup.credential)
        status, body, _ = await _fetch(ads[0].creative.image_url)
        assert status == 200
        assert hashlib.sha256(body).hexdigest() == uploaded.sha256
    finally:
        await edge.stop(0.2)


@pytest.mark.latency
async def test_etag_revalidation_answers_304_and_a_missing_hash_404(setup: Setup) -> None:
    """If-None-Match with the hash is a 304; an unknown hash is a quick 404, a malformed one too."""
    uploaded = (await _upload(setup.admin, png_bytes())).asset
    await _creative(
        setup.admin, "cr-banner", format=common_pb2.CREATIVE_FORMAT_BANNER, headline="x",
        image_asset_sha256=uploaded.sha256,
    )  # fmt: skip
    await _line_item(setup.admin, ["cr-banner"])
    edge = await start_edge(_edge_config(setup))
    try:
        await edge.wait_for_index(timeout_s=10.0)
        assert edge.assets is not None
        base = f"http://127.0.0.1:{edge.assets.port}/assets/"
        status, body, _ = await _fetch(base + uploaded.sha256, {"If-None-Match": f'"{uploaded.sha256}"'})
        assert status == 304
        assert body == b""
        started = time.monotonic()
        status, _, _ = await _fetch(base + "0" * 64)
        assert status == 404
        assert time.monotonic() - started < 1.0
        status, _, _ = await _fetch(base + "..%2Findex")
        assert status == 404
    finally:
        await edge.stop(0.2)


async def test_recipe_and_default_product_card_reach_the_cart(setup: Setup) -> None:
    """A recipe carries its products with aisles; a sponsored product without an image gets a generated card."""
    await _creative(
        setup.admin, "cr-recipe", format=common_pb2.CREATIVE_FORMAT_RECIPE, headline="Guacamole",
        recipe_product_ids=["p2", "p3"],
    )  # fmt: skip
    await _creative(
        setup.admin, "cr-sp", format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT, headline="Bananas!",
        promoted_product_id="p1",
    )  # fmt: skip
    await _line_item(setup.admin, ["cr-recipe", "cr-sp"])
    edge = await start_edge(_edge_config(setup))
    try:
        await edge.wait_for_index(timeout_s=10.0)
        view = edge.sync_client._holder.view
        assert view is not None
        recipe = view.tables.creative_pb["cr-recipe"]
        assert [(r.name, r.location_hint) for r in recipe.recipe_items] == [
            ("Avocado", "aisle 24 — fresh fruits"),
            ("Lime", "aisle 83 — fresh vegetables"),
        ]
        card = view.tables.creative_pb["cr-sp"]
        expected = render_product_card("Bananas", 1_290_000)
        assert card.image_asset_sha256 == expected.sha256
        assert card.call_to_action == "Add to cart"
        status, body, headers = await _fetch(card.image_url)
        assert status == 200
        assert body == expected.data
        assert headers["content-type"] == "image/svg+xml"
    finally:
        await edge.stop(0.2)


async def test_unreferenced_assets_are_collected_after_an_update(setup: Setup) -> None:
    """When a new index no longer shows an image, the edge deletes it and answers 404 for it."""
    first = (await _upload(setup.admin, png_bytes(32, 32, (1, 2, 3)))).asset
    second = (await _upload(setup.admin, png_bytes(32, 32, (9, 9, 9)))).asset
    await _creative(
        setup.admin,
        "cr-banner",
        format=common_pb2.CREATIVE_FORMAT_BANNER,
        headline="x",
        image_asset_sha256=first.sha256,
    )
    await _line_item(setup.admin, ["cr-banner"])
    edge = await start_edge(_edge_config(setup))
    try:
        await edge.wait_for_index(timeout_s=10.0)
        assert edge.assets is not None
        before = edge.index_version
        await setup.admin.UpdateCreative(
            admin_pb2.UpdateCreativeRequest(
                creative=admin_pb2.CreativeSpec(creative_id="cr-banner", image_asset_sha256=second.sha256),
                update_mask={"paths": ["image_asset_sha256"]},
            )
        )
        # A new image is a new thing to review: served again only once approved.
        await setup.admin.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id="cr-banner"))
        store = edge.assets.store
        # The edge announces no collection: poll its store.
        await eventually(
            lambda: edge.index_version != before and store.hashes() == [second.sha256],
            timeout_s=10.0,
            interval_s=0.02,
            what="the unused asset collected",
        )
        assert store.hashes() == [second.sha256]
        status, _, _ = await _fetch(f"http://127.0.0.1:{edge.assets.port}/assets/{first.sha256}")
        assert status == 404
    finally:
        await edge.stop(0.2)


async def test_an_update_whose_assets_cannot_be_fetched_is_refused(setup: Setup) -> None:
    """prepare() raises IndexRejectedError (so the update is NACKed) for an asset the cloud lacks."""
    edge = await start_edge(_edge_config(setup))
    try:
        await edge.wait_for_index(timeout_s=10.0)
        assert edge.assets is not None
        assert edge.assets.sync is not None
        snapshot = index_pb2.StoreIndex(
            store_id=STORE,
            creatives=[common_pb2.Creative(creative_id="c", image_asset_sha256="ee" * 32)],
        )
        with pytest.raises(IndexRejectedError, match="assets unavailable"):
            await edge.assets.sync.prepare(Ready(nonce="n", version="v", snapshot=snapshot))
    finally:
        await edge.stop(0.2)


async def test_hostile_svg_upload_is_stored_sanitised(setup: Setup) -> None:
    """An SVG with scripts and external links is stored without them, hashed as sanitised."""
    info = (await _upload(setup.admin, HOSTILE_SVG)).asset
    assert info.sanitized
    assert info.content_type == "image/svg+xml"
    stored = await setup.cloud.store.assets.get_assets([info.sha256])
    text = stored[0].data.decode().lower()
    assert hashlib.sha256(stored[0].data).hexdigest() == info.sha256
    for bad in ("<script", "onload", "evil.example"):
        assert bad not in text


async def test_upload_over_the_limit_and_bad_creatives_name_the_field(setup: Setup) -> None:
    """A too-big upload is refused naming chunk; a coupon without code names coupon_code."""
    with pytest.raises(grpc.aio.AioRpcError) as too_big:
        await _upload(setup.admin, b"\x89PNG\r\n\x1a\n" + b"\x00" * (3 * 1024 * 1024), chunk=256 * 1024)
    assert too_big.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(too_big.value)] == ["chunk"]
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await _creative(setup.admin, "cr-c", format=common_pb2.CREATIVE_FORMAT_COUPON, offer_text="$1 off")
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(bad.value)] == ["creative.coupon_code"]


async def test_index_with_an_unfetchable_asset_is_nacked_and_the_old_one_serves(setup: Setup) -> None:
    """An update showing an image the cloud cannot provide is NACKed; the edge keeps its last index."""
    first = (await _upload(setup.admin, png_bytes(32, 32, (1, 1, 1)))).asset
    second = (await _upload(setup.admin, png_bytes(32, 32, (2, 2, 2)))).asset
    await _creative(
        setup.admin, "cr-1", format=common_pb2.CREATIVE_FORMAT_BANNER, headline="x", image_asset_sha256=first.sha256
    )
    await _creative(
        setup.admin, "cr-2", format=common_pb2.CREATIVE_FORMAT_BANNER, headline="y", image_asset_sha256=second.sha256
    )
    await _line_item(setup.admin, ["cr-1"])
    edge = await start_edge(_edge_config(setup))
    try:
        served = await edge.wait_for_index(timeout_s=10.0)
        # The image is lost from the cloud's database after the creative was accepted.
        with sqlite3.connect(setup.tmp / "cloud.sqlite3") as db:
            db.execute("DELETE FROM assets WHERE sha256 = ?", (second.sha256,))
        await setup.admin.UpdateLineItem(
            admin_pb2.UpdateLineItemRequest(
                line_item=admin_pb2.LineItem(line_item_id="li", creative_ids=["cr-1", "cr-2"]),
                update_mask={"paths": ["creative_ids"]},
            )
        )

        async def nacked() -> admin_pb2.EdgeStatus | None:
            (status,) = (await setup.admin.ListEdges(admin_pb2.ListEdgesRequest(store_id=STORE))).edges
            return status if status.last_answer == "NACK" else None

        # ListEdges has no watch: poll it.
        status = await eventually(nacked, timeout_s=10.0, interval_s=0.05, what="the edge's NACK of the update")
        assert "assets unavailable" in status.last_error
        assert edge.index_version == served
        assert [ad.creative.creative_id for ad in await _get_ads(edge, setup.credential)] == ["cr-1"]
    finally:
        await edge.stop(0.2)
