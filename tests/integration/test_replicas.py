"""Two real `cartads-cloud` processes on one PostgreSQL database serve together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2, admin_pb2_grpc, event_ingest_pb2, event_ingest_pb2_grpc, index_sync_pb2
from cloud_core.access.policy import Role
from cloud_core.storage.cloud_store import SqlCloudStore
from tests.cloud_core.helpers import STORE_ID, ad_event, line_item, seed
from tests.cloud_replicas import Replica, create_token, replica, subscribe
from tests.storage_engines import fresh_pg_dsn

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

pytestmark = pytest.mark.postgres


@dataclass
class Deployment:
    dsn: str
    a: Replica
    b: Replica
    admin_b: AdminServiceAsyncStub
    edge_a: grpc.aio.Channel
    edge_b: grpc.aio.Channel


@pytest.fixture
async def deployment() -> AsyncIterator[Deployment]:
    """Replicas A and B on one fresh database, store s1 seeded through B, edge channels to both."""
    with fresh_pg_dsn() as dsn:
        async with AsyncExitStack() as stack:
            a, b = await asyncio.gather(
                stack.enter_async_context(replica(dsn, "replica-a")),
                stack.enter_async_context(replica(dsn, "replica-b")),
            )
            admin_channel = aio_channel(b.address, await create_token(dsn, Role.ADMIN))
            stack.push_async_callback(admin_channel.close, None)
            admin_b = admin_pb2_grpc.AdminServiceStub(admin_channel)
            await seed(admin_b)
            await admin_b.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
            edge_token = await create_token(dsn, Role.EDGE, STORE_ID)
            edge_a, edge_b = aio_channel(a.address, edge_token), aio_channel(b.address, edge_token)
            for channel in (edge_a, edge_b):
                stack.push_async_callback(channel.close, None)
            yield Deployment(dsn, a, b, admin_b, edge_a, edge_b)


@pytest.mark.latency
async def test_change_through_one_replica_reaches_an_edge_on_the_other(deployment: Deployment) -> None:
    """An edge streaming from A gets the line item changed through B's AdminService within a second."""
    call, reader = await subscribe(deployment.edge_a)
    first = await reader.next(timeout_s=30)
    await call.write(index_sync_pb2.StreamIndexRequest(version=first.version, response_nonce=first.nonce))
    await deployment.admin_b.UpdateLineItem(
        admin_pb2.UpdateLineItemRequest(
            line_item=admin_pb2.LineItem(line_item_id="li1", bid_micros=777_000),
            update_mask=FieldMask(paths=["bid_micros"]),
        )
    )
    update = await reader.next(timeout_s=1.0)
    call.cancel()
    assert update.version != first.version
    assert [li.bid_micros for li in update.index.line_items] == [777_000]


async def test_edge_moving_to_the_other_replica_gets_a_delta(deployment: Deployment) -> None:
    """An edge reconnecting to B with a version A compiled gets a delta to the newest index: the
    versions are stored in the database, not in A's memory."""
    call, reader = await subscribe(deployment.edge_a)
    on_a = await reader.next(timeout_s=30)
    call.cancel()
    await deployment.admin_b.UpdateLineItem(
        admin_pb2.UpdateLineItemRequest(
            line_item=admin_pb2.LineItem(line_item_id="li1", bid_micros=888_000),
            update_mask=FieldMask(paths=["bid_micros"]),
        )
    )
    moved, moved_reader = await subscribe(deployment.edge_b, version=on_a.version)
    # The edge still holds what A sent it.
    moved_reader.index = on_a.index
    on_b = await moved_reader.next(timeout_s=30)
    moved.cancel()
    assert on_b.kind == "delta"
    assert on_b.version != on_a.version
    assert [li.bid_micros for li in on_b.index.line_items] == [888_000]


async def test_batch_uploaded_to_both_replicas_is_billed_once(deployment: Deployment) -> None:
    """The same batch uploaded to A and B at once is billed once in total, and the spend report says so."""
    store = await SqlCloudStore.open(deployment.dsn)
    try:
        key = await store.catalog.signing_key(STORE_ID)
    finally:
        await store.close()
    assert key is not None
    batch = event_ingest_pb2.UploadEventsRequest(
        store_id=STORE_ID,
        edge_id="edge-1",
        events=[ad_event(key, event_id=f"e{i}", seq=i, ad_id=f"ad-{i}") for i in range(1, 101)],
    )
    stubs = [event_ingest_pb2_grpc.EventIngestServiceStub(c) for c in (deployment.edge_a, deployment.edge_b)]
    results = await asyncio.gather(*(stub.UploadEvents(batch, timeout=30) for stub in stubs for _ in range(2)))
    report = await deployment.admin_b.GetSpendReport(admin_pb2.GetSpendReportRequest())
    assert sum(r.billed_count for r in results) == 100
    assert all(r.acknowledged_seq == 100 for r in results)
    assert [(c.campaign_id, c.impressions) for c in report.campaigns] == [("c1", 100)]
