"""UploadEvents' bounds over a real cloud: a broken upload is INVALID_ARGUMENT, an out-of-bounds event
is a malformed dead letter while the rest of its upload is billed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2, common_pb2, event_ingest_pb2, event_ingest_pb2_grpc, request_counts_pb2
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import STORE_ID, ad_event, line_item, seed, violations_of

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub
    from cartads.v1.event_ingest_pb2_grpc import EventIngestServiceAsyncStub


@pytest.fixture
def ingest(edge_channel: grpc.aio.Channel) -> EventIngestServiceAsyncStub:
    return event_ingest_pb2_grpc.EventIngestServiceStub(edge_channel)


@pytest.fixture
async def key(admin: AdminServiceAsyncStub, cloud_server: CloudServer) -> bytes:
    await seed(admin)
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
    found = await cloud_server.store.catalog.signing_key(STORE_ID)
    assert found is not None
    return found


def upload(*events: event_ingest_pb2.JournaledEvent, edge_id: str = "edge-1") -> event_ingest_pb2.UploadEventsRequest:
    return event_ingest_pb2.UploadEventsRequest(store_id=STORE_ID, edge_id=edge_id, events=events)


def basket_add(seq: int, quantity: int) -> event_ingest_pb2.JournaledEvent:
    event = common_pb2.CartEvent(
        event_id=f"add-{seq}", type=common_pb2.EVENT_TYPE_BASKET_ADD, cart_id="cart-1", quantity=quantity
    )
    return event_ingest_pb2.JournaledEvent(seq=seq, event=event, receive_time=dt_to_ts(datetime.now(UTC)))


async def dead_letter_reasons(cloud_server: CloudServer) -> dict[int, str]:
    return {d.seq: d.reason for d in await cloud_server.store.ledger.dead_letters(STORE_ID)}


async def test_an_event_out_of_bounds_is_dead_lettered_and_the_rest_billed(
    ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer, key: bytes
) -> None:
    """A basket add of quantity 2^31 - 1 amid impressions: the impressions are billed, it is a malformed dead letter."""
    response = await ingest.UploadEvents(
        upload(
            ad_event(key, event_id="i1", seq=1, ad_id="ad-1"),
            basket_add(2, 2**31 - 1),
            ad_event(key, event_id="i3", seq=3, ad_id="ad-3"),
        )
    )
    assert (response.acknowledged_seq, response.billed_count, response.rejected_count) == (3, 2, 1)
    assert await dead_letter_reasons(cloud_server) == {2: "malformed: events[1].quantity must be at most 999"}


@pytest.mark.parametrize(
    "bad_time",
    [(10**15, 0, "receive_time"), (1_780_000_000, -1, "receive_time"), (10**15, 0, "occur_time")],
)
async def test_times_out_of_range_are_malformed_not_unknown(
    ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer, key: bytes, bad_time: tuple[int, int, str]
) -> None:
    """Seconds of 10^15 or nanos of -1 make a malformed dead letter naming the time, never an error answer."""
    seconds, nanos, field = bad_time
    event = ad_event(key, event_id="i1", seq=1)
    target = event.receive_time if field == "receive_time" else event.event.occur_time
    target.CopyFrom(Timestamp(seconds=seconds, nanos=nanos))
    response = await ingest.UploadEvents(upload(event))
    assert (response.acknowledged_seq, response.billed_count, response.rejected_count) == (1, 0, 1)
    [reason] = (await dead_letter_reasons(cloud_server)).values()
    expected = "events[0].receive_time" if field == "receive_time" else "events[0].occur_time"
    assert reason.startswith(f"malformed: {expected} ")


async def test_a_receive_time_far_ahead_of_the_cloud_is_malformed(
    ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer, key: bytes
) -> None:
    """An edge clock more than ten minutes ahead of the cloud's cannot place its events: dead letter."""
    event = ad_event(key, event_id="i1", seq=1)
    event.receive_time.seconds += 3600
    response = await ingest.UploadEvents(upload(event))
    assert response.rejected_count == 1


async def test_an_out_of_bounds_count_record_is_dead_lettered(
    ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer, key: bytes
) -> None:
    """An edge's request-count row claiming 10^12 requests is dead-lettered, not added to the counts."""
    hour = int(datetime.now(UTC).timestamp()) // 3600 * 3600
    counts = request_counts_pb2.RequestCounts(
        rows=[request_counts_pb2.RequestCountRow(hour_start_time=Timestamp(seconds=hour), requests=10**12)]
    )
    record = event_ingest_pb2.JournaledEvent(
        seq=1, event=common_pb2.CartEvent(event_id="counts-1"), request_counts=counts
    )
    response = await ingest.UploadEvents(upload(record))
    assert (response.acknowledged_seq, response.rejected_count) == (1, 1)
    assert await dead_letter_reasons(cloud_server) == {
        1: "malformed: events[0].request_counts.rows[0].requests must be at most 1,000,000,000"
    }


@pytest.mark.parametrize(
    ("seqs", "field"),
    [([1, 1], "events.seq[1]"), ([2, 1], "events.seq[1]"), ([0], "events.seq[0]")],
)
async def test_seqs_out_of_order_refuse_the_upload(
    ingest: EventIngestServiceAsyncStub, key: bytes, seqs: list[int], field: str
) -> None:
    """Seqs must start at 1 and increase strictly: a broken edge's upload is INVALID_ARGUMENT."""
    events = [ad_event(key, event_id=f"i{i}", seq=seq) for i, seq in enumerate(seqs)]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ingest.UploadEvents(upload(*events))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(violations_of(raised.value)) == [field]


async def test_an_oversized_upload_is_refused(ingest: EventIngestServiceAsyncStub, key: bytes) -> None:
    """More than 5,000 events in one upload is INVALID_ARGUMENT on events."""
    events = [event_ingest_pb2.JournaledEvent(seq=i + 1) for i in range(5_001)]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ingest.UploadEvents(upload(*events))
    assert violations_of(raised.value) == {"events": "has more than 5,000 events"}


async def test_an_oversized_edge_id_is_refused(ingest: EventIngestServiceAsyncStub, key: bytes) -> None:
    """An edge_id of a megabyte is INVALID_ARGUMENT on edge_id (and is never echoed back)."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ingest.UploadEvents(upload(ad_event(key, event_id="i1", seq=1), edge_id="e" * 1_000_000))
    assert violations_of(raised.value) == {"edge_id": "is longer than 128 characters"}
