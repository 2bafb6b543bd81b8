"""Bearer tokens over a real cloud: roles on AdminService, advertiser scoping, edge credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import grpc
import pytest

from cartads.rpc.bearer import aio_channel
from cartads.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    asset_pb2,
    asset_pb2_grpc,
    common_pb2,
    event_ingest_pb2,
    event_ingest_pb2_grpc,
    index_sync_pb2,
    index_sync_pb2_grpc,
)
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer
from tests.asset_images import png_bytes
from tests.cloud_core.helpers import STORE_ID, campaign, creative, line_item, seed

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
DENIED = grpc.StatusCode.PERMISSION_DENIED


@asynccontextmanager
async def admin_as(cloud_server: CloudServer, token: str | None) -> AsyncIterator[AdminServiceAsyncStub]:
    async with aio_channel(f"127.0.0.1:{cloud_server.port}", token) as channel:
        yield admin_pb2_grpc.AdminServiceStub(channel)


async def code_of(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value.code()


@pytest.fixture
async def two_advertisers(admin: AdminServiceAsyncStub) -> None:
    """seed() plus advertiser globex with creative gx-cr and campaign gx-c; acme's c1 gets line item li1."""
    await seed(admin)
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
    await admin.CreateAdvertiser(
        admin_pb2.CreateAdvertiserRequest(advertiser_id="globex", advertiser=admin_pb2.Advertiser(display_name="G"))
    )
    await admin.CreateCreative(admin_pb2.CreateCreativeRequest(creative=creative("gx-cr", advertiser_id="globex")))
    await admin.CreateCampaign(admin_pb2.CreateCampaignRequest(campaign=campaign("gx-c", advertiser_id="globex")))


async def test_admin_service_without_token_is_unauthenticated(cloud_server: CloudServer) -> None:
    """No authorization header: UNAUTHENTICATED."""
    async with admin_as(cloud_server, None) as stub:
        assert await code_of(stub.ListStores(admin_pb2.ListStoresRequest())) == UNAUTHENTICATED


async def test_unknown_token_is_unauthenticated(cloud_server: CloudServer) -> None:
    """A secret the cloud never issued: UNAUTHENTICATED."""
    async with admin_as(cloud_server, "cat_not-a-real-token") as stub:
        assert await code_of(stub.ListStores(admin_pb2.ListStoresRequest())) == UNAUTHENTICATED


async def test_malformed_header_is_unauthenticated(cloud_server: CloudServer) -> None:
    """An authorization header that is not 'Bearer <token>': UNAUTHENTICATED."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{cloud_server.port}") as channel:
        call = admin_pb2_grpc.AdminServiceStub(channel).ListStores(
            admin_pb2.ListStoresRequest(), metadata=[("authorization", "Basic dXNlcjpwdw==")]
        )
        assert await code_of(call) == UNAUTHENTICATED


async def test_created_token_works_and_revoked_token_is_refused_at_once(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub
) -> None:
    """CreateApiToken's secret authenticates; after RevokeApiToken the same secret is UNAUTHENTICATED."""
    created = await admin.CreateApiToken(
        admin_pb2.CreateApiTokenRequest(api_token=admin_pb2.ApiToken(role=admin_pb2.API_TOKEN_ROLE_VIEWER))
    )
    async with admin_as(cloud_server, created.secret) as viewer:
        await viewer.ListStores(admin_pb2.ListStoresRequest())
        await admin.RevokeApiToken(admin_pb2.RevokeApiTokenRequest(token_id=created.api_token.token_id))
        assert await code_of(viewer.ListStores(admin_pb2.ListStoresRequest())) == UNAUTHENTICATED


async def test_token_list_shows_revocation_and_no_secret(admin: AdminServiceAsyncStub) -> None:
    """ListApiTokens shows each token's role and revoke time, never a secret."""
    created = await admin.CreateApiToken(
        admin_pb2.CreateApiTokenRequest(
            token_id="ops-bob", api_token=admin_pb2.ApiToken(role=admin_pb2.API_TOKEN_ROLE_ADMIN, display_name="Bob")
        )
    )
    await admin.RevokeApiToken(admin_pb2.RevokeApiTokenRequest(token_id="ops-bob"))
    listed = {t.token_id: t for t in (await admin.ListApiTokens(admin_pb2.ListApiTokensRequest())).api_tokens}
    assert listed["ops-bob"].HasField("revoke_time")
    assert listed["ops-bob"].display_name == "Bob"
    assert created.secret not in str(listed)


async def test_token_binding_is_checked(admin: AdminServiceAsyncStub) -> None:
    """An advertiser token needs an existing advertiser; an edge token an existing store."""
    adv = admin_pb2.ApiToken(role=admin_pb2.API_TOKEN_ROLE_ADVERTISER)
    assert await code_of(admin.CreateApiToken(admin_pb2.CreateApiTokenRequest(api_token=adv))) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    adv.advertiser_id = "nobody"
    assert await code_of(admin.CreateApiToken(admin_pb2.CreateApiTokenRequest(api_token=adv))) == (
        grpc.StatusCode.NOT_FOUND
    )
    edge = admin_pb2.ApiToken(role=admin_pb2.API_TOKEN_ROLE_EDGE, store_id="nowhere")
    assert await code_of(admin.CreateApiToken(admin_pb2.CreateApiTokenRequest(api_token=edge))) == (
        grpc.StatusCode.NOT_FOUND
    )


async def test_viewer_reads_but_cannot_write_or_mint(cloud_server: CloudServer, two_advertisers: None) -> None:
    """A viewer lists campaigns of everyone, but creating anything or a token is PERMISSION_DENIED."""
    async with admin_as(cloud_server, await cloud_server.mint_token(Role.VIEWER)) as viewer:
        listed = await viewer.ListCampaigns(admin_pb2.ListCampaignsRequest())
        assert {c.campaign_id for c in listed.campaigns} == {"c1", "gx-c"}
        assert await code_of(viewer.PauseCampaign(admin_pb2.PauseCampaignRequest(campaign_id="c1"))) == DENIED
        token = admin_pb2.ApiToken(role=admin_pb2.API_TOKEN_ROLE_ADMIN)
        assert await code_of(viewer.CreateApiToken(admin_pb2.CreateApiTokenRequest(api_token=token))) == DENIED


async def test_advertiser_lists_only_its_own(cloud_server: CloudServer, two_advertisers: None) -> None:
    """An advertiser token's lists hold only its advertiser's rows."""
    async with admin_as(cloud_server, await cloud_server.mint_token(Role.ADVERTISER, advertiser_id="acme")) as acme:
        advertisers = (await acme.ListAdvertisers(admin_pb2.ListAdvertisersRequest())).advertisers
        campaigns = (await acme.ListCampaigns(admin_pb2.ListCampaignsRequest())).campaigns
        creatives = (await acme.ListCreatives(admin_pb2.ListCreativesRequest())).creatives
        items = (await acme.ListLineItems(admin_pb2.ListLineItemsRequest())).line_items
    assert [a.advertiser_id for a in advertisers] == ["acme"]
    assert [c.campaign_id for c in campaigns] == ["c1"]
    assert [c.creative_id for c in creatives] == ["cr1"]
    assert [i.line_item_id for i in items] == ["li1"]


async def test_advertiser_is_denied_other_advertisers_resources(
    cloud_server: CloudServer, two_advertisers: None
) -> None:
    """Another advertiser's campaign, a missing one, or a filter naming another: all PERMISSION_DENIED."""
    async with admin_as(cloud_server, await cloud_server.mint_token(Role.ADVERTISER, advertiser_id="acme")) as acme:
        assert await code_of(acme.GetCampaign(admin_pb2.GetCampaignRequest(campaign_id="gx-c"))) == DENIED
        assert await code_of(acme.GetCampaign(admin_pb2.GetCampaignRequest(campaign_id="no-such"))) == DENIED
        assert await code_of(acme.DeleteCreative(admin_pb2.DeleteCreativeRequest(creative_id="gx-cr"))) == DENIED
        other = admin_pb2.ListCampaignsRequest(advertiser_id="globex")
        assert await code_of(acme.ListCampaigns(other)) == DENIED
        steal = admin_pb2.CreateCampaignRequest(campaign=campaign("steal", advertiser_id="globex"))
        assert await code_of(acme.CreateCampaign(steal)) == DENIED
        into = admin_pb2.CreateLineItemRequest(line_item=line_item("li-x", campaign_id="gx-c"))
        assert await code_of(acme.CreateLineItem(into)) == DENIED
        assert await code_of(acme.ListEdges(admin_pb2.ListEdgesRequest())) == DENIED


async def test_advertiser_edits_its_own(cloud_server: CloudServer, two_advertisers: None) -> None:
    """An advertiser token creates and pauses its own campaigns and reads its own spend report."""
    async with admin_as(cloud_server, await cloud_server.mint_token(Role.ADVERTISER, advertiser_id="acme")) as acme:
        created = await acme.CreateCampaign(admin_pb2.CreateCampaignRequest(campaign=campaign("")))
        paused = await acme.PauseCampaign(admin_pb2.PauseCampaignRequest(campaign_id=created.campaign.campaign_id))
        report = await acme.GetSpendReport(admin_pb2.GetSpendReportRequest())
        stores = await acme.ListStores(admin_pb2.ListStoresRequest())
    assert paused.campaign.state == admin_pb2.SERVING_STATE_PAUSED
    assert {c.advertiser_id for c in report.campaigns} <= {"acme"}
    assert [s.store_id for s in stores.stores] == [STORE_ID]


async def test_edge_token_on_admin_service_is_denied(cloud_server: CloudServer) -> None:
    """An edge token is not an operator: PERMISSION_DENIED on AdminService."""
    async with admin_as(cloud_server, await cloud_server.mint_token(Role.EDGE, store_id=STORE_ID)) as stub:
        assert await code_of(stub.ListStores(admin_pb2.ListStoresRequest())) == DENIED


def _upload(store_id: str = STORE_ID) -> event_ingest_pb2.UploadEventsRequest:
    return event_ingest_pb2.UploadEventsRequest(store_id=store_id, edge_id="edge-1")


async def _edge_calls(channel: grpc.aio.Channel, store_id: str = STORE_ID) -> list[grpc.StatusCode]:
    """The status of UploadEvents, StreamIndex and BatchGetAssets for ``store_id`` over ``channel``."""
    codes = []
    try:
        await event_ingest_pb2_grpc.EventIngestServiceStub(channel).UploadEvents(_upload(store_id))
        codes.append(grpc.StatusCode.OK)
    except grpc.aio.AioRpcError as error:
        codes.append(error.code())
    call = index_sync_pb2_grpc.IndexSyncServiceStub(channel).StreamIndex(None)
    try:
        await call.write(index_sync_pb2.StreamIndexRequest(store_id=store_id, edge_id="edge-1"))
        await call.read()
        codes.append(grpc.StatusCode.OK)
    except grpc.aio.AioRpcError as error:
        codes.append(error.code())
    finally:
        call.cancel()
    try:
        await asset_pb2_grpc.AssetServiceStub(channel).BatchGetAssets(
            asset_pb2.BatchGetAssetsRequest(store_id=store_id)
        )
        codes.append(grpc.StatusCode.OK)
    except grpc.aio.AioRpcError as error:
        codes.append(error.code())
    return codes


async def test_edge_services_need_credentials(cloud_server: CloudServer, admin: AdminServiceAsyncStub) -> None:
    """Plaintext with no certificate and no token: every edge service is UNAUTHENTICATED."""
    await seed(admin)
    async with aio_channel(f"127.0.0.1:{cloud_server.port}") as channel:
        assert await _edge_calls(channel) == [UNAUTHENTICATED] * 3


async def test_edge_token_serves_its_store_only(cloud_server: CloudServer, admin: AdminServiceAsyncStub) -> None:
    """An edge token works for its store and is PERMISSION_DENIED for another."""
    await seed(admin)
    await admin.CreateStore(admin_pb2.CreateStoreRequest(store_id="s2", store=admin_pb2.Store(display_name="S2")))
    token = await cloud_server.mint_token(Role.EDGE, store_id=STORE_ID)
    async with aio_channel(f"127.0.0.1:{cloud_server.port}", token) as channel:
        assert await _edge_calls(channel) == [grpc.StatusCode.OK] * 3
        assert await _edge_calls(channel, "s2") == [DENIED] * 3


async def test_operator_token_on_edge_services_is_denied(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub
) -> None:
    """An admin token is never an edge credential: PERMISSION_DENIED on every edge service."""
    await seed(admin)
    async with aio_channel(f"127.0.0.1:{cloud_server.port}", await cloud_server.mint_token(Role.ADMIN)) as channel:
        assert await _edge_calls(channel) == [DENIED] * 3


async def _upload_image(stub: AdminServiceAsyncStub, data: bytes) -> str:
    async def chunks() -> AsyncIterator[admin_pb2.UploadAssetRequest]:
        yield admin_pb2.UploadAssetRequest(filename="a.png", chunk=data)

    return (await stub.UploadAsset(chunks())).asset.sha256


def _banner(name: str, sha256: str) -> admin_pb2.CreateCreativeRequest:
    # No creative_id: an advertiser token's ids are made by the server.
    return admin_pb2.CreateCreativeRequest(
        creative=admin_pb2.CreativeSpec(
            advertiser_id="acme",
            display_name=name,
            format=common_pb2.CREATIVE_FORMAT_BANNER,
            headline="Hi",
            image_asset_sha256=sha256,
        ),
    )


async def test_advertiser_shows_only_assets_it_uploaded(
    cloud_server: CloudServer, admin: AdminServiceAsyncStub, two_advertisers: None
) -> None:
    """An advertiser's creative may use an image it uploaded, not one somebody else uploaded."""
    theirs = await _upload_image(admin, png_bytes(300, 100))
    async with admin_as(cloud_server, await cloud_server.mint_token(Role.ADVERTISER, advertiser_id="acme")) as acme:
        mine = await _upload_image(acme, png_bytes(300, 120))
        await acme.CreateCreative(_banner("own-image", mine))
        assert await code_of(acme.CreateCreative(_banner("their-image", theirs))) == DENIED
