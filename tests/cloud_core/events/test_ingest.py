"""EventIngestService.UploadEvents over a real grpc.aio cloud: exactly-once billing and dead letters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest

from cartads.rpc.bearer import aio_channel
from cartads.v1 import (
    admin_pb2,
    common_pb2,
    event_ingest_pb2,
    event_ingest_pb2_grpc,
    index_sync_pb2,
    index_sync_pb2_grpc,
)
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import STORE_ID, ad_event, line_item, seed, signing_key_of, upload
from tests.sync_helpers import SyncReader

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub
    from cartads.v1.event_ingest_pb2_grpc import EventIngestServiceAsyncStub


async def test_batch_sent_twice_is_billed_once(
    admin: AdminServiceAsyncStub, ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """The same batch uploaded twice bills once; the second upload counts only duplicates."""
    await seed(admin)
    key = await signing_key_of(cloud_server)
    batch = upload(
        ad_event(key, event_id="e1", seq=1, ad_id="ad-1"),
        ad_event(key, event_id="e2", seq=2, ad_id="ad-2"),
        ad_event(key, event_id="e3", seq=3, ad_id="ad-2", event_type=common_pb2.EVENT_TYPE_CLICK),
    )
    first = await ingest.UploadEvents(batch)
    again = await ingest.UploadEvents(batch)
    assert (first.acknowledged_seq, first.billed_count, first.duplicate_count) == (3, 3, 0)
    assert (again.acknowledged_seq, again.billed_count, again.duplicate_count) == (3, 0, 3)
    report = await admin.GetSpendReport(admin_pb2.GetSpendReportRequest())
    [c1] = report.campaigns
    assert (c1.impressions, c1.clicks, c1.spend_micros) == (2, 1, 10_000)
    assert (report.total_spend_micros, report.billed_event_count) == (10_000, 3)


async def test_same_ad_is_billed_once_per_kind(
    admin: AdminServiceAsyncStub, ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """A second impression of the same ad under a new event id is recorded, not billed."""
    await seed(admin)
    key = await signing_key_of(cloud_server)
    response = await ingest.UploadEvents(
        upload(ad_event(key, event_id="e1", seq=1), ad_event(key, event_id="e1-replay", seq=2))
    )
    assert (response.billed_count, response.recorded_count) == (1, 1)


async def test_cpc_click_charges_the_bid_price(
    admin: AdminServiceAsyncStub, ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """On a CPC line item the click costs its price and the impression costs nothing."""
    await seed(admin)
    key = await signing_key_of(cloud_server)
    cpc = {"pricing_model": common_pb2.PRICING_MODEL_CPC, "price_micros": 300_000}
    await ingest.UploadEvents(
        upload(
            ad_event(key, event_id="i1", seq=1, **cpc),  # type: ignore[arg-type]
            ad_event(key, event_id="c1", seq=2, event_type=common_pb2.EVENT_TYPE_CLICK, **cpc),  # type: ignore[arg-type]
        )
    )
    report = await admin.GetSpendReport(admin_pb2.GetSpendReportRequest(store_id=STORE_ID))
    assert (report.total_spend_micros, report.billed_event_count) == (300_000, 2)


async def test_forged_token_goes_to_dead_letters(
    admin: AdminServiceAsyncStub, ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """An impression signed with a wrong key is rejected into dead letters and never billed."""
    await seed(admin)
    response = await ingest.UploadEvents(upload(ad_event(b"f" * 32, event_id="forged", seq=7)))
    assert (response.rejected_count, response.billed_count, response.acknowledged_seq) == (1, 0, 7)
    [dead] = await cloud_server.store.ledger.dead_letters(STORE_ID)
    assert dead.event_id == "forged"
    assert dead.reason.startswith("TOKEN_SIGNATURE")
    report = await admin.GetSpendReport(admin_pb2.GetSpendReportRequest())
    assert (report.total_spend_micros, report.billed_event_count) == (0, 0)


async def test_basket_events_are_recorded(admin: AdminServiceAsyncStub, ingest: EventIngestServiceAsyncStub) -> None:
    """Basket and checkout events are recorded without billing."""
    await seed(admin)
    events = [
        event_ingest_pb2.JournaledEvent(
            seq=i + 1, event=common_pb2.CartEvent(event_id=f"b{i}", type=t, cart_id="cart-1", session_id="s")
        )
        for i, t in enumerate([common_pb2.EVENT_TYPE_BASKET_ADD, common_pb2.EVENT_TYPE_CHECKOUT])
    ]
    response = await ingest.UploadEvents(upload(*events))
    assert (response.recorded_count, response.billed_count, response.rejected_count) == (2, 0, 0)


async def test_missing_ids_are_invalid(ingest: EventIngestServiceAsyncStub) -> None:
    """An upload without store_id and edge_id answers INVALID_ARGUMENT."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ingest.UploadEvents(event_ingest_pb2.UploadEventsRequest())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_unknown_store_is_not_found(cloud_server: CloudServer) -> None:
    """An upload for a store that does not exist (with that store's edge token) answers NOT_FOUND."""
    token = await cloud_server.mint_token(Role.EDGE, store_id="nowhere")
    async with aio_channel(f"127.0.0.1:{cloud_server.port}", token) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await event_ingest_pb2_grpc.EventIngestServiceStub(channel).UploadEvents(
                event_ingest_pb2.UploadEventsRequest(store_id="nowhere", edge_id="e")
            )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_exhausted_budget_pushes_index_without_the_line_item(
    admin: AdminServiceAsyncStub,
    ingest: EventIngestServiceAsyncStub,
    edge_channel: grpc.aio.Channel,
    cloud_server: CloudServer,
) -> None:
    """Billing that uses up the campaign's budget pushes an index without its line items."""
    await seed(admin, budget_micros=5_000)
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
    call = index_sync_pb2_grpc.IndexSyncServiceStub(edge_channel).StreamIndex(None)
    await call.write(index_sync_pb2.StreamIndexRequest(store_id=STORE_ID, edge_id="edge-1"))
    reader = SyncReader(call)
    first = await reader.next()
    assert len(first.index.line_items) == 1
    await call.write(index_sync_pb2.StreamIndexRequest(version=first.version, response_nonce=first.nonce))
    await ingest.UploadEvents(upload(ad_event(await signing_key_of(cloud_server), event_id="e1", seq=1)))
    second = await reader.next()
    assert not second.index.line_items
    call.cancel()
