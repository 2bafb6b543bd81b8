"""Signed event uploads through both replicas at once, and the ledger's count of what was billed.

Several stores' edges each register a key of their own on a replica's index stream (as the real edge
does) and upload impressions signed with it, naming the version that replica sent them, in batches,
one after another (as the uploader does). Every ``duplicate_every``-th batch goes to both replicas at
the same time, as an edge re-sending to another replica while the first upload still runs: the
ledger must still hold each event once. The baseline, in the same run: as many other events from as
many other edges, all through one replica (``ingest_two_vs_one_replica``: what the second replica adds).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
import psycopg
from google.protobuf.timestamp_pb2 import Timestamp

from cartads.bench.cloud.events_fixture import CHANNEL_OPTIONS
from cartads.bench.cloud.events_ingest import EdgeKey, register_edge_key
from cartads.bench.cloud.signed_events import AdOrigin, signed_impressions
from cartads.rpc.bearer import aio_channel
from cartads.v1 import event_ingest_pb2_grpc
from cartads.v1.event_ingest_pb2 import JournaledEvent, UploadEventsRequest

# A shopper's session sees a few dozen ads, not thousands.
EVENTS_PER_SESSION = 50


@dataclass(frozen=True)
class IngestShape:
    """How much to upload."""

    edges: int = 8
    events: int = 60_000
    batch: int = 500
    # Every Nth batch of an edge also goes to the other replica at once (0: never).
    duplicate_every: int = 4


@dataclass(frozen=True)
class IngestEdge:
    """An uploading edge: its store, the replica it streams from (``home``, an index), its key."""

    store_id: str
    edge_id: str
    home: int
    token: str
    key: EdgeKey


@dataclass(frozen=True)
class IngestResult:
    seconds: float
    unique_events: int
    uploaded_events: int
    duplicate_batches: int
    billed: int


async def register_edges(
    ports: Sequence[int], stores: Sequence[str], tokens: dict[str, str], edges: int, *, prefix: str = "ingest"
) -> list[IngestEdge]:
    """One uploading edge per store of the first ``edges`` stores, alternating between the replicas."""
    out = []
    for i, store_id in enumerate(stores[:edges]):
        edge_id = f"{prefix}-{store_id}"
        home = i % len(ports)
        key = await register_edge_key(ports[home], tokens[store_id], edge_id, store_id=store_id)
        out.append(IngestEdge(store_id, edge_id, home, tokens[store_id], key))
    return out


def _now() -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


def build_batches(edges: Sequence[IngestEdge], origin: AdOrigin, shape: IngestShape) -> list[list[UploadEventsRequest]]:
    """Per edge, its batches of journaled impressions (``origin``'s line item, each edge's store, key and
    version; a new cart session every ``EVENTS_PER_SESSION``), built before any clock starts."""
    per_edge = max(1, shape.events // max(1, len(edges)))
    out = []
    for edge in edges:
        events = []
        for first in range(0, per_edge, EVENTS_PER_SESSION):
            session = first // EVENTS_PER_SESSION
            mine = dataclasses.replace(
                origin,
                store_id=edge.store_id,
                cart_id=f"cart-{session % 200}",
                session_id=f"{edge.edge_id}-s{session}",
                signing_key_id=edge.key.key_id,
                index_version=edge.key.version,
            )
            count = min(EVENTS_PER_SESSION, per_edge - first)
            events.extend(signed_impressions(mine, edge.key.key, f"{edge.edge_id}-s{session}", count))
        received = _now()
        batches = [
            UploadEventsRequest(
                store_id=edge.store_id,
                edge_id=edge.edge_id,
                events=[
                    JournaledEvent(seq=start + i + 1, event=e, receive_time=received)
                    for i, e in enumerate(events[start : start + shape.batch])
                ],
            )
            for start in range(0, per_edge, shape.batch)
        ]
        out.append(batches)
    return out


async def upload(
    ports: Sequence[int],
    edges: Sequence[IngestEdge],
    batches: Sequence[Sequence[UploadEventsRequest]],
    shape: IngestShape,
) -> IngestResult:
    """Every edge uploads its batches in order to its replica, some also to the other one at once."""
    channels = [
        [aio_channel(f"127.0.0.1:{port}", edge.token, options=CHANNEL_OPTIONS) for port in ports] for edge in edges
    ]
    billed = 0
    duplicates = 0
    uploaded = 0

    async def send(channel: grpc.aio.Channel, request: UploadEventsRequest) -> None:
        nonlocal billed, uploaded
        response = await event_ingest_pb2_grpc.EventIngestServiceStub(channel).UploadEvents(request, timeout=120)
        if response.acknowledged_seq != request.events[-1].seq:
            raise RuntimeError(f"{request.edge_id}: acknowledged {response.acknowledged_seq}, sent up to "
                               f"{request.events[-1].seq}")  # fmt: skip
        billed += response.billed_count
        uploaded += len(request.events)

    async def edge_uploads(edge: IngestEdge, mine: Sequence[UploadEventsRequest], own: list[grpc.aio.Channel]) -> None:
        nonlocal duplicates
        other = own[(edge.home + 1) % len(own)]
        for n, request in enumerate(mine):
            if shape.duplicate_every and n % shape.duplicate_every == 0 and len(own) > 1:
                duplicates += 1
                await asyncio.gather(send(own[edge.home], request), send(other, request))
            else:
                await send(own[edge.home], request)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(edge_uploads(e, b, c) for e, b, c in zip(edges, batches, channels, strict=True)))
        seconds = time.perf_counter() - started
    finally:
        for pair in channels:
            for channel in pair:
                await channel.close(None)
    unique = sum(len(r.events) for mine in batches for r in mine)
    return IngestResult(seconds, unique, uploaded, duplicates, billed)


async def ledger_counts(dsn: str, store_ids: Sequence[str]) -> tuple[int, int]:
    """The ledger's entries for these stores, and how many distinct events they are."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(
            "SELECT count(*), count(DISTINCT (store_id, event_id)) FROM ledger WHERE store_id = ANY(%s)",
            (list(store_ids),),
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
