"""The cloud half of ``cartads-bench events``: the bench store seeded through AdminService, and the
UploadEvents load of several edges sent to the cloud (or a no-op server)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from cartads.bench.cloud.events_fixture import CHANNEL_OPTIONS, STORE_ID, bench_impressions
from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2_grpc, event_ingest_pb2_grpc
from cartads.v1.event_ingest_pb2 import JournaledEvent, UploadEventsRequest


async def seed_cloud(port: int, admin_token: str) -> None:
    """The bench store and campaign."""
    from datetime import UTC, datetime, timedelta

    from cartads.time_units import dt_to_ts
    from cartads.v1 import admin_pb2

    async with aio_channel(f"127.0.0.1:{port}", admin_token) as channel:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        await admin.CreateStore(
            admin_pb2.CreateStoreRequest(
                store_id=STORE_ID, store=admin_pb2.Store(display_name="Bench", time_zone="UTC")
            )
        )
        await admin.CreateAdvertiser(
            admin_pb2.CreateAdvertiserRequest(
                advertiser_id="bench-adv", advertiser=admin_pb2.Advertiser(display_name="B")
            )
        )
        now = datetime.now(UTC)
        await admin.CreateCampaign(
            admin_pb2.CreateCampaignRequest(
                campaign=admin_pb2.Campaign(
                    campaign_id="bench-campaign",
                    advertiser_id="bench-adv",
                    display_name="Bench",
                    budget_micros=10**15,
                    start_time=dt_to_ts(now - timedelta(days=1)),
                    end_time=dt_to_ts(now + timedelta(days=30)),
                    state=admin_pb2.SERVING_STATE_ACTIVE,
                )
            )
        )


async def seed_line_item(port: int, admin_token: str) -> None:
    """The bench line item and its creative, so the impressions' terms are in the store's index."""
    from cartads.v1 import admin_pb2, common_pb2

    async with aio_channel(f"127.0.0.1:{port}", admin_token) as channel:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        await admin.CreateCreative(
            admin_pb2.CreateCreativeRequest(
                creative_id="bench-cr",
                creative=admin_pb2.CreativeSpec(
                    advertiser_id="bench-adv",
                    display_name="Bench",
                    format=common_pb2.CREATIVE_FORMAT_BANNER,
                    headline="Bench",
                    body="Bench",
                ),
            )
        )
        # Every new creative waits for review; the bench's admin token approves its own.
        await admin.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id="bench-cr"))
        await admin.CreateLineItem(
            admin_pb2.CreateLineItemRequest(
                line_item_id="bench-li",
                line_item=admin_pb2.LineItem(
                    campaign_id="bench-campaign",
                    display_name="Bench",
                    pricing_model=common_pb2.PRICING_MODEL_CPM,
                    bid_micros=5_000_000,
                    creative_ids=["bench-cr"],
                    state=admin_pb2.SERVING_STATE_ACTIVE,
                ),
            )
        )


async def register_edge_key(port: int, edge_token: str, edge_id: str, store_id: str = STORE_ID) -> EdgeKey:
    """Register a new key for ``edge_id`` of ``store_id`` on its index stream, as the edge does, and the
    version the cloud sends it (whose terms it records before sending)."""
    from cartads.v1 import index_sync_pb2, index_sync_pb2_grpc

    key = EdgeKey(secrets.token_hex(8), secrets.token_bytes(32), "")
    async with aio_channel(f"127.0.0.1:{port}", edge_token) as channel:
        call = index_sync_pb2_grpc.IndexSyncServiceStub(channel).StreamIndex(None)
        signing_key = index_sync_pb2.EdgeSigningKey(key_id=key.key_id, key=key.key)
        await call.write(index_sync_pb2.StreamIndexRequest(store_id=store_id, edge_id=edge_id, signing_key=signing_key))
        first = await call.read()
        call.cancel()
    assert isinstance(first, index_sync_pb2.StreamIndexResponse), first
    return EdgeKey(key.key_id, key.key, first.version)


@dataclass(frozen=True)
class EdgeKey:
    """An edge's registered signing key and the index version it was sent."""

    key_id: str
    key: bytes
    version: str


def db_signing_key(root: Path) -> bytes:
    import sqlite3

    with contextlib.closing(sqlite3.connect(root / "cloud.sqlite3")) as conn:
        row = conn.execute("SELECT signing_key FROM stores WHERE store_id = ?", (STORE_ID,)).fetchone()
    return bytes(row[0])


def upload_batches(
    key: bytes, args: argparse.Namespace, edge_keys: Sequence[EdgeKey] = ()
) -> list[list[UploadEventsRequest]]:
    """Per edge, its batches of journaled events (built before the clock starts): signed with the
    edge's registered key when ``edge_keys`` has one, else with the store's shared ``key``."""
    per_edge = max(args.ingest_batch, args.ingest_events // args.ingest_edges)
    out = []
    for edge in range(args.ingest_edges):
        if edge_keys:
            own = edge_keys[edge]
            events = bench_impressions(f"u{edge}", per_edge, own.key, own.key_id, own.version)
        else:
            events = bench_impressions(f"u{edge}", per_edge, key)
        batches = []
        for start in range(0, per_edge, args.ingest_batch):
            chunk = events[start : start + args.ingest_batch]
            batches.append(
                UploadEventsRequest(
                    store_id=STORE_ID,
                    edge_id=f"edge-{edge}",
                    events=[
                        JournaledEvent(seq=start + i + 1, event=e, receive_time=_now_ts()) for i, e in enumerate(chunk)
                    ],
                )
            )
        out.append(batches)
    return out


def _now_ts() -> Any:
    from google.protobuf.timestamp_pb2 import Timestamp

    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


async def upload_load(
    port: int, batches: Sequence[Sequence[UploadEventsRequest]], token: str
) -> tuple[float, int, int]:
    """Each edge uploads its batches one after another, as the uploader does; (seconds, events, billed)."""
    # Both the real cloud and the no-op server get the edge token, so the ratio compares like with like.
    channels = [aio_channel(f"127.0.0.1:{port}", token, options=CHANNEL_OPTIONS) for _ in batches]
    billed = 0

    async def edge(channel: grpc.aio.Channel, mine: Sequence[UploadEventsRequest]) -> None:
        nonlocal billed
        stub = event_ingest_pb2_grpc.EventIngestServiceStub(channel)
        for request in mine:
            response = await stub.UploadEvents(request, timeout=60)
            billed += response.billed_count

    try:
        start = time.perf_counter()
        await asyncio.gather(*(edge(c, m) for c, m in zip(channels, batches, strict=True)))
        seconds = time.perf_counter() - start
    finally:
        for channel in channels:
            await channel.close(None)
    return seconds, sum(len(r.events) for m in batches for r in m), billed
