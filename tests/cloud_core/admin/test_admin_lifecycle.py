"""AdminService pause/resume, preconditions and a large streaming catalog import, over a real cloud."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import grpc
import pytest

from cartads.v1 import admin_pb2, index_sync_pb2, index_sync_pb2_grpc
from tests.cloud_core.helpers import STORE_ID, campaign, line_item, seed

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

PAUSED, ACTIVE = admin_pb2.SERVING_STATE_PAUSED, admin_pb2.SERVING_STATE_ACTIVE


async def code_of(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value.code()


async def test_pause_and_resume_campaign(admin: AdminServiceAsyncStub) -> None:
    """PauseCampaign then ResumeCampaign flip its state, and Get shows it."""
    await seed(admin)
    paused = await admin.PauseCampaign(admin_pb2.PauseCampaignRequest(campaign_id="c1"))
    assert paused.campaign.state == PAUSED
    resumed = await admin.ResumeCampaign(admin_pb2.ResumeCampaignRequest(campaign_id="c1"))
    assert resumed.campaign.state == ACTIVE
    assert (await admin.GetCampaign(admin_pb2.GetCampaignRequest(campaign_id="c1"))).campaign.state == ACTIVE


async def test_pause_and_resume_line_item(admin: AdminServiceAsyncStub) -> None:
    """PauseLineItem then ResumeLineItem flip its state; pausing twice is harmless."""
    await seed(admin)
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
    await admin.PauseLineItem(admin_pb2.PauseLineItemRequest(line_item_id="li1"))
    again = await admin.PauseLineItem(admin_pb2.PauseLineItemRequest(line_item_id="li1"))
    assert again.line_item.state == PAUSED
    resumed = await admin.ResumeLineItem(admin_pb2.ResumeLineItemRequest(line_item_id="li1"))
    assert resumed.line_item.state == ACTIVE


async def test_pausing_a_missing_campaign_is_not_found(admin: AdminServiceAsyncStub) -> None:
    """Pause of an unknown id is NOT_FOUND."""
    assert await code_of(admin.PauseCampaign(admin_pb2.PauseCampaignRequest(campaign_id="nope"))) == (
        grpc.StatusCode.NOT_FOUND
    )


async def test_resuming_an_ended_campaign_is_failed_precondition(admin: AdminServiceAsyncStub) -> None:
    """A campaign whose flight is over cannot be resumed (nor its line items), by custom method or update."""
    await seed(admin)
    now = datetime.now(UTC)
    ended = campaign("old", start=now - timedelta(days=10), end=now - timedelta(days=1), state=PAUSED)
    await admin.CreateCampaign(admin_pb2.CreateCampaignRequest(campaign=ended))
    await admin.CreateLineItem(
        admin_pb2.CreateLineItemRequest(line_item=line_item("li-old", campaign_id="old", state=PAUSED))
    )
    precondition = grpc.StatusCode.FAILED_PRECONDITION
    assert await code_of(admin.ResumeCampaign(admin_pb2.ResumeCampaignRequest(campaign_id="old"))) == precondition
    assert await code_of(admin.ResumeLineItem(admin_pb2.ResumeLineItemRequest(line_item_id="li-old"))) == (precondition)
    update = admin_pb2.UpdateCampaignRequest(
        campaign=admin_pb2.Campaign(campaign_id="old", state=ACTIVE), update_mask={"paths": ["state"]}
    )
    assert await code_of(admin.UpdateCampaign(update)) == precondition


async def test_deleting_an_advertiser_with_campaigns_is_failed_precondition(admin: AdminServiceAsyncStub) -> None:
    """An advertiser that still has campaigns cannot be deleted."""
    await seed(admin)
    assert await code_of(admin.DeleteAdvertiser(admin_pb2.DeleteAdvertiserRequest(advertiser_id="acme"))) == (
        grpc.StatusCode.FAILED_PRECONDITION
    )


async def test_deleting_a_store_with_a_connected_edge_is_failed_precondition(
    admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel
) -> None:
    """A store whose edge is connected cannot be deleted; the message names the edge."""
    await seed(admin)
    call = index_sync_pb2_grpc.IndexSyncServiceStub(edge_channel).StreamIndex(None)
    await call.write(index_sync_pb2.StreamIndexRequest(store_id=STORE_ID, edge_id="edge-7"))
    await call.initial_metadata()  # sent once the cloud has recorded the subscription
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.DeleteStore(admin_pb2.DeleteStoreRequest(store_id=STORE_ID))
    call.cancel()
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "edge-7" in (caught.value.details() or "")


async def test_duplicate_store_id_is_already_exists(admin: AdminServiceAsyncStub) -> None:
    """Creating a store with a taken id is ALREADY_EXISTS."""
    await seed(admin)
    again = admin_pb2.CreateStoreRequest(store_id=STORE_ID, store=admin_pb2.Store(display_name="Again"))
    assert await code_of(admin.CreateStore(again)) == grpc.StatusCode.ALREADY_EXISTS


async def test_ten_thousand_products_in_one_streaming_import(admin: AdminServiceAsyncStub) -> None:
    """One ImportCatalog call of 10,000 products (in messages of 1,000) stores them all."""
    await admin.CreateStore(admin_pb2.CreateStoreRequest(store_id="big", store=admin_pb2.Store(display_name="Big")))

    async def messages() -> AsyncIterator[admin_pb2.ImportCatalogRequest]:
        yield admin_pb2.ImportCatalogRequest(
            store_id="big",
            aisles=[admin_pb2.Aisle(aisle_id=str(a), display_name=f"aisle {a}") for a in range(1, 51)],
            departments=[admin_pb2.Department(department_id="d1", display_name="grocery")],
        )
        for start in range(0, 10_000, 1_000):
            yield admin_pb2.ImportCatalogRequest(
                store_id="big",
                products=[
                    admin_pb2.Product(
                        product_id=f"p{n:05d}",
                        display_name=f"Product {n}",
                        aisle_id=str(n % 50 + 1),
                        department_id="d1",
                        price_micros=1_000 + n,
                    )
                    for n in range(start, start + 1_000)
                ],
            )

    response = await admin.ImportCatalog(messages(), timeout=120)
    assert (response.product_count, response.aisle_count) == (10_000, 50)
    listed = 0
    request = admin_pb2.ListProductsRequest(store_id="big", page_size=1000)
    while True:
        page = await admin.ListProducts(request)
        listed += len(page.products)
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert listed == 10_000
