"""Overlapping uploads through two real `cartads-cloud` replicas at once are billed exactly once."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import psycopg
import pytest

from cartads.bench.cloud.events_ingest import register_edge_key
from cartads.bench.cloud.signed_events import AdOrigin, signed_impressions
from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2, admin_pb2_grpc, event_ingest_pb2, event_ingest_pb2_grpc
from cloud_core.access.policy import Role
from tests.cloud_core.helpers import STORE_ID, line_item, seed
from tests.cloud_replicas import create_token, replica
from tests.storage_engines import fresh_pg_dsn

pytestmark = pytest.mark.postgres

EVENTS_PER_EDGE = 300
# Each batch overlaps the next by 50 events, as an uploader re-sends what was not acknowledged yet.
BATCHES = ((1, 150), (101, 250), (201, 300))
PRICE_MICROS = 1_000_000


def _batches(edge_id: str, origin: AdOrigin, key: bytes) -> list[event_ingest_pb2.UploadEventsRequest]:
    events = signed_impressions(origin, key, f"{edge_id}-ad", EVENTS_PER_EDGE)
    journaled = [event_ingest_pb2.JournaledEvent(seq=i + 1, event=e) for i, e in enumerate(events)]
    return [
        event_ingest_pb2.UploadEventsRequest(store_id=STORE_ID, edge_id=edge_id, events=journaled[first - 1 : last])
        for first, last in BATCHES
    ]


async def test_overlapping_batches_through_both_replicas_bill_each_event_once() -> None:
    """Two edges' overlapping batches, every one sent to both replicas at the same time: each event is
    billed once, in the responses, the ledger and the spend report."""
    with fresh_pg_dsn() as dsn:
        async with AsyncExitStack() as stack:
            a, b = await asyncio.gather(
                stack.enter_async_context(replica(dsn, "replica-a")),
                stack.enter_async_context(replica(dsn, "replica-b")),
            )
            admin_channel = aio_channel(a.address, await create_token(dsn, Role.ADMIN))
            stack.push_async_callback(admin_channel.close, None)
            admin = admin_pb2_grpc.AdminServiceStub(admin_channel)
            await seed(admin, budget_micros=10**12)
            await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
            edge_token = await create_token(dsn, Role.EDGE, STORE_ID)
            channels = [aio_channel(r.address, edge_token) for r in (a, b)]
            for channel in channels:
                stack.push_async_callback(channel.close, None)
            # Each edge registers its own key on one replica's index stream, as the real edge does.
            ports = [int(r.address.rsplit(":", 1)[1]) for r in (a, b)]
            requests = []
            for n, port in enumerate(ports):
                edge_id = f"edge-{n}"
                key = await register_edge_key(port, edge_token, edge_id, store_id=STORE_ID)
                origin = AdOrigin(
                    store_id=STORE_ID,
                    campaign_id="c1",
                    line_item_id="li1",
                    creative_id="cr1",
                    advertiser_id="acme",
                    price_micros=PRICE_MICROS,
                    signing_key_id=key.key_id,
                    index_version=key.version,
                )
                requests.extend(_batches(edge_id, origin, key.key))
            stubs = [event_ingest_pb2_grpc.EventIngestServiceStub(c) for c in channels]
            responses = await asyncio.gather(*(s.UploadEvents(r, timeout=60) for r in requests for s in stubs))
            report = await admin.GetSpendReport(admin_pb2.GetSpendReportRequest())
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            cur = await conn.execute("SELECT count(*), count(DISTINCT event_id), sum(charge_micros) FROM ledger")
            ledger = await cur.fetchone()
    unique = EVENTS_PER_EDGE * len(ports)
    assert sum(r.billed_count for r in responses) == unique
    assert ledger == (unique, unique, unique * PRICE_MICROS // 1000)
    assert [(c.campaign_id, c.impressions, c.spend_micros) for c in report.campaigns] == [
        ("c1", unique, unique * PRICE_MICROS // 1000)
    ]
