"""AdminService over a real grpc.aio cloud: CRUD, pagination, field masks and error codes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from cartads.v1 import admin_pb2
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import STORE_ID, line_item, seed, violations_of

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub


async def test_advertiser_create_get_delete(admin: AdminServiceAsyncStub) -> None:
    """An advertiser can be created, read back and deleted; then it is NOT_FOUND."""
    before_s = int(time.time())
    created = await admin.CreateAdvertiser(
        admin_pb2.CreateAdvertiserRequest(advertiser=admin_pb2.Advertiser(display_name="Acme"))
    )
    adv_id = created.advertiser.advertiser_id
    assert adv_id.startswith("adv-")
    assert before_s <= created.advertiser.create_time.seconds <= time.time()
    got = await admin.GetAdvertiser(admin_pb2.GetAdvertiserRequest(advertiser_id=adv_id))
    assert got.advertiser == created.advertiser
    await admin.DeleteAdvertiser(admin_pb2.DeleteAdvertiserRequest(advertiser_id=adv_id))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.GetAdvertiser(admin_pb2.GetAdvertiserRequest(advertiser_id=adv_id))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_duplicate_client_id_is_already_exists(admin: AdminServiceAsyncStub) -> None:
    """Creating a second advertiser with the same client-given id fails with ALREADY_EXISTS."""
    req = admin_pb2.CreateAdvertiserRequest(advertiser_id="acme", advertiser=admin_pb2.Advertiser(display_name="A"))
    await admin.CreateAdvertiser(req)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.CreateAdvertiser(req)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_invalid_campaign_names_the_field(admin: AdminServiceAsyncStub) -> None:
    """A zero budget answers INVALID_ARGUMENT with campaign.budget_micros."""
    await seed(admin)
    bad = admin_pb2.Campaign()
    bad.CopyFrom((await admin.GetCampaign(admin_pb2.GetCampaignRequest(campaign_id="c1"))).campaign)
    bad.budget_micros = 0
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.CreateCampaign(admin_pb2.CreateCampaignRequest(campaign_id="c2", campaign=bad))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations_of(err.value) == {"campaign.budget_micros": "must be > 0"}


async def test_campaign_of_unknown_advertiser_is_not_found(admin: AdminServiceAsyncStub) -> None:
    """A campaign whose advertiser does not exist answers NOT_FOUND naming campaign.advertiser_id."""
    await seed(admin)
    c = (await admin.GetCampaign(admin_pb2.GetCampaignRequest(campaign_id="c1"))).campaign
    c.advertiser_id = "ghost"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.CreateCampaign(admin_pb2.CreateCampaignRequest(campaign_id="c2", campaign=c))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "campaign.advertiser_id" in violations_of(err.value)


async def test_list_pages_through_everything(admin: AdminServiceAsyncStub) -> None:
    """page_size 2 over 5 advertisers gives 3 pages holding each advertiser once."""
    for i in range(5):
        await admin.CreateAdvertiser(
            admin_pb2.CreateAdvertiserRequest(advertiser_id=f"a{i}", advertiser=admin_pb2.Advertiser(display_name="x"))
        )
    seen, token, pages = [], "", 0
    while True:
        page = await admin.ListAdvertisers(admin_pb2.ListAdvertisersRequest(page_size=2, page_token=token))
        seen += [a.advertiser_id for a in page.advertisers]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert (seen, pages) == (["a0", "a1", "a2", "a3", "a4"], 3)


async def test_bad_page_token_and_size_are_invalid(admin: AdminServiceAsyncStub) -> None:
    """A made-up page token or an oversized page answers INVALID_ARGUMENT naming the field."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.ListStores(admin_pb2.ListStoresRequest(page_token="garbage!"))
    assert "page_token" in violations_of(err.value)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.ListStores(admin_pb2.ListStoresRequest(page_size=1001))
    assert "page_size" in violations_of(err.value)


async def test_update_changes_only_masked_fields(admin: AdminServiceAsyncStub) -> None:
    """With update_mask ["budget_micros"], the new name in the request is ignored."""
    await seed(admin)
    patch = admin_pb2.Campaign(campaign_id="c1", display_name="ignored", budget_micros=42_000_000)
    updated = await admin.UpdateCampaign(
        admin_pb2.UpdateCampaignRequest(campaign=patch, update_mask=FieldMask(paths=["budget_micros"]))
    )
    assert updated.campaign.budget_micros == 42_000_000
    assert updated.campaign.display_name == "Campaign c1"


async def test_empty_mask_replaces_settable_fields(admin: AdminServiceAsyncStub) -> None:
    """An empty mask sets every settable field, so a cleared required field is refused."""
    await seed(admin)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.UpdateCampaign(
            admin_pb2.UpdateCampaignRequest(campaign=admin_pb2.Campaign(campaign_id="c1", display_name="New"))
        )
    assert {"campaign.start_time", "campaign.budget_micros"} <= set(violations_of(err.value))


async def test_unknown_mask_path_is_invalid(admin: AdminServiceAsyncStub) -> None:
    """A mask naming a field that cannot be set answers INVALID_ARGUMENT on update_mask."""
    await seed(admin)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.UpdateCampaign(
            admin_pb2.UpdateCampaignRequest(
                campaign=admin_pb2.Campaign(campaign_id="c1"), update_mask=FieldMask(paths=["advertiser_id"])
            )
        )
    assert "update_mask" in violations_of(err.value)


async def test_pause_line_item_via_state_mask(admin: AdminServiceAsyncStub) -> None:
    """Updating only state pauses a line item and keeps its targeting."""
    await seed(admin)
    targeting = admin_pb2.Targeting(product_ids=["24852"], store_ids=[STORE_ID])
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item(targeting=targeting)))
    patch = admin_pb2.LineItem(line_item_id="li1", state=admin_pb2.SERVING_STATE_PAUSED)
    updated = await admin.UpdateLineItem(
        admin_pb2.UpdateLineItemRequest(line_item=patch, update_mask=FieldMask(paths=["state"]))
    )
    assert updated.line_item.state == admin_pb2.SERVING_STATE_PAUSED
    assert list(updated.line_item.targeting.product_ids) == ["24852"]


async def test_line_item_targeting_unknown_product_names_field(admin: AdminServiceAsyncStub) -> None:
    """A product that is in no catalog is named as line_item.targeting.product_ids[0]."""
    await seed(admin)
    targeting = admin_pb2.Targeting(product_ids=["999999"])
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item(targeting=targeting)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "line_item.targeting.product_ids[0]" in violations_of(err.value)


async def test_delete_with_children_is_failed_precondition(admin: AdminServiceAsyncStub) -> None:
    """A campaign that still has line items cannot be deleted."""
    await seed(admin)
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.DeleteCampaign(admin_pb2.DeleteCampaignRequest(campaign_id="c1"))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_catalog_import_and_listing(admin: AdminServiceAsyncStub) -> None:
    """Imported products and aisles list back, in pages, with default zones."""
    await seed(admin)
    first = await admin.ListProducts(admin_pb2.ListProductsRequest(store_id=STORE_ID, page_size=2))
    second = await admin.ListProducts(
        admin_pb2.ListProductsRequest(store_id=STORE_ID, page_size=2, page_token=first.next_page_token)
    )
    assert [p.product_id for p in [*first.products, *second.products]] == ["13176", "21903", "24852"]
    assert not second.next_page_token
    aisles = await admin.ListAisles(admin_pb2.ListAislesRequest(store_id=STORE_ID))
    assert [(a.aisle_id, a.zone_id) for a in aisles.aisles] == [("24", "zone-24"), ("83", "produce-east")]


async def test_catalog_product_with_unknown_aisle_is_invalid(admin: AdminServiceAsyncStub) -> None:
    """A product whose aisle is in neither the import nor the catalog is refused."""
    await seed(admin)

    async def messages() -> AsyncIterator[admin_pb2.ImportCatalogRequest]:
        product = admin_pb2.Product(product_id="1", display_name="x", aisle_id="404", department_id="4")
        yield admin_pb2.ImportCatalogRequest(store_id=STORE_ID, products=[product])

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.ImportCatalog(messages())
    assert violations_of(err.value) == {"products[0].aisle_id": "aisle '404' is not in the catalog"}


async def test_list_products_of_unknown_store_is_not_found(admin: AdminServiceAsyncStub) -> None:
    """Listing the catalog of a store that does not exist answers NOT_FOUND."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.ListProducts(admin_pb2.ListProductsRequest(store_id="nowhere"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_store_signing_key_stays_private(admin: AdminServiceAsyncStub, cloud_server: CloudServer) -> None:
    """The store's signing key exists in storage but appears in no AdminService answer."""
    await seed(admin)
    key = await cloud_server.store.catalog.signing_key(STORE_ID)
    assert key is not None
    assert len(key) == 32
    got = await admin.GetStore(admin_pb2.GetStoreRequest(store_id=STORE_ID))
    listed = await admin.ListStores(admin_pb2.ListStoresRequest())
    assert key not in got.SerializeToString()
    assert key not in listed.SerializeToString()


async def test_empty_spend_report_lists_campaigns(admin: AdminServiceAsyncStub) -> None:
    """Before any event the report lists each campaign with zero spend and its budget."""
    await seed(admin)
    report = await admin.GetSpendReport(admin_pb2.GetSpendReportRequest())
    assert [(c.campaign_id, c.spend_micros, c.budget_micros) for c in report.campaigns] == [("c1", 0, 10_000_000)]
    assert (report.total_spend_micros, report.billed_event_count) == (0, 0)
