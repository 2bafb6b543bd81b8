"""Test helpers: hand-built StoreIndex messages and a small fake cloud served over real gRPC."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

from cartads import ivt
from cartads.index.version import content_version
from cartads.v1 import event_ingest_pb2_grpc, index_sync_pb2_grpc
from cartads.v1.common_pb2 import Creative, CreativeFormat, PricingModel
from cartads.v1.event_ingest_pb2 import JournaledEvent, UploadEventsRequest, UploadEventsResponse
from cartads.v1.index_pb2 import IndexCart, IndexLineItem, IndexProduct, PostingList, StoreIndex, StoreSettings
from cartads.v1.index_sync_pb2 import StreamIndexRequest, StreamIndexResponse
from edge_node.app.server import EdgeServer
from edge_node.config import EdgeConfig
from tests.cart_credentials import index_carts
from tests.eventually import eventually

if TYPE_CHECKING:
    from cartads.v1.ad_service_pb2_grpc import AdServiceAsyncStub

STORE_ID = "store-1"
SIGNING_KEY = b"test-signing-key-0123456789abcdef"

# The ``edges`` and ``ad_stub_for`` fixtures: start an edge (stopped after the test), make a client of one.
StartEdge = Callable[[EdgeConfig], Awaitable[EdgeServer]]
AdStubFor = Callable[[EdgeServer], "AdServiceAsyncStub"]


def version_of(index: StoreIndex) -> str:
    """The content version the cloud would announce for ``index``."""
    return content_version(index)


def line_item(
    line_item_id: str,
    bid_micros: int = 2_000_000,
    *,
    creative_ids: Sequence[str] | None = None,
    pricing_model: int = PricingModel.PRICING_MODEL_CPM,
    budget_allowance_micros: int = 1_000_000_000,
    **fields: Any,
) -> IndexLineItem:
    """A line item with a creative named after it and a generous allowance unless told otherwise."""
    return IndexLineItem(
        line_item_id=line_item_id,
        campaign_id=f"camp-{line_item_id}",
        advertiser_id=f"adv-{line_item_id}",
        pricing_model=pricing_model,  # type: ignore[arg-type]
        bid_micros=bid_micros,
        creative_ids=list(creative_ids) if creative_ids is not None else [f"cr-{line_item_id}"],
        budget_allowance_micros=budget_allowance_micros,
        **fields,
    )


def creative(
    creative_id: str, promoted_product_id: str = "", fmt: int = CreativeFormat.CREATIVE_FORMAT_BANNER
) -> Creative:
    """A creative with a headline."""
    return Creative(
        creative_id=creative_id,
        format=fmt,  # type: ignore[arg-type]
        headline=f"Buy {creative_id}",
        promoted_product_id=promoted_product_id,
    )


def instant_ivt_policy() -> Any:
    """An index's IvtPolicy under which a test cart may report an ad the moment it got it (the
    after-decision thresholds below zero: no wait is too short); every other rule as by default."""
    return ivt.policy_to_pb(ivt.IvtPolicy(min_impression_after_decision_ms=-1, min_click_after_decision_ms=-1))


def make_index(
    line_items: Sequence[IndexLineItem] = (),
    postings: dict[str, list[str]] | None = None,
    *,
    store_id: str = STORE_ID,
    creatives: Sequence[Creative] | None = None,
    products: Sequence[IndexProduct] = (),
    stamp_version: bool = True,
    carts: Sequence[IndexCart] | None = None,
) -> StoreIndex:
    """A StoreIndex with its version set; creatives default to one per line item, carts to the test
    carts (``tests.cart_credentials.TEST_CART_IDS``)."""
    index = StoreIndex(
        store_id=store_id,
        settings=StoreSettings(signing_key=SIGNING_KEY, token_ttl_s=7200, time_zone="UTC"),
        line_items=list(line_items),
        creatives=list(creatives)
        if creatives is not None
        else [creative(cid) for li in line_items for cid in li.creative_ids],
        products=list(products),
        postings=[PostingList(key=k, line_item_ids=v) for k, v in sorted((postings or {}).items())],
        carts=list(carts) if carts is not None else index_carts(store_id),
    )
    index.compile_time.FromSeconds(1_700_000_000)
    if stamp_version:
        index.version = version_of(index)
    return index


def product(product_id: str, aisle_id: str = "24", department_id: str = "4", brand: str = "") -> IndexProduct:
    """A catalog product in an aisle (whose zone is zone-<aisle>)."""
    return IndexProduct(
        product_id=product_id,
        name=f"product {product_id}",
        aisle_id=aisle_id,
        department_id=department_id,
        brand=brand,
        zone_id=f"zone-{aisle_id}",
        aisle_name="fresh fruits",
        price_micros=1_990_000,
    )


def edge_config(tmp_path: Path, cloud_port: int, **overrides: Any) -> EdgeConfig:
    """Edge edge-1 of STORE_ID for tests: data in tmp_path/edge, serving on loopback port 0, talking to
    the cloud at ``cloud_port``, with short intervals and small maps; ``overrides`` set any other field
    (``cloud_token`` for a real cloud)."""
    fields: dict[str, Any] = {
        "store_id": STORE_ID,
        "edge_id": "edge-1",
        "cloud_address": f"127.0.0.1:{cloud_port}",
        "data_dir": str(tmp_path / "edge"),
        "listen_address": "127.0.0.1:0",
        "upload_interval_s": 0.05,
        "sync_backoff_initial_s": 0.02,
        "sync_backoff_max_s": 0.1,
        "upload_backoff_initial_s": 0.02,
        "upload_backoff_max_s": 0.1,
        "index_map_size_bytes": 16 * 1024 * 1024,
        "journal_map_size_bytes": 16 * 1024 * 1024,
    }
    fields.update(overrides)
    return EdgeConfig(**fields)


class FakeCloud(index_sync_pb2_grpc.IndexSyncServiceServicer, event_ingest_pb2_grpc.EventIngestServiceServicer):
    """Pushes whatever index a test gives it and records uploads; can fail or partially acknowledge."""

    def __init__(self) -> None:
        self.current: StreamIndexResponse | None = None
        self.stream_requests: asyncio.Queue[StreamIndexRequest] = asyncio.Queue()
        self.uploads: list[UploadEventsRequest] = []
        self.events: dict[str, JournaledEvent] = {}
        self.fail_next_uploads = 0
        # When set, decides the watermark of an upload from the request.
        self.acknowledge: Callable[[UploadEventsRequest], int] | None = None
        self._streams: list[asyncio.Queue[StreamIndexResponse]] = []
        self._nonces = itertools.count(1)

    def push(self, index: StoreIndex, version: str | None = None) -> StreamIndexResponse:
        """Send ``index`` to every connected edge, and to each edge that connects later."""
        response = StreamIndexResponse(version=version or index.version, nonce=f"n{next(self._nonces)}", snapshot=index)
        self.current = response
        for queue in self._streams:
            queue.put_nowait(response)
        return response

    async def StreamIndex(  # noqa: N802
        self, request_iterator: AsyncIterator[StreamIndexRequest], context: Any
    ) -> AsyncIterator[StreamIndexResponse]:
        """Forward every request to ``stream_requests``; yield pushed updates."""
        outgoing: asyncio.Queue[StreamIndexResponse] = asyncio.Queue()

        async def read_requests() -> None:
            async for request in request_iterator:
                await self.stream_requests.put(request)

        reader = asyncio.create_task(read_requests())
        self._streams.append(outgoing)
        if self.current is not None:
            outgoing.put_nowait(self.current)
        try:
            while True:
                yield await outgoing.get()
        finally:
            self._streams.remove(outgoing)
            reader.cancel()

    async def UploadEvents(self, request: UploadEventsRequest, context: Any) -> UploadEventsResponse:  # noqa: N802
        """Record the batch and acknowledge it (all of it unless ``acknowledge`` says otherwise)."""
        self.uploads.append(request)
        if self.fail_next_uploads > 0:
            self.fail_next_uploads -= 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "fake cloud outage")
        watermark = self.acknowledge(request) if self.acknowledge else request.events[-1].seq
        for journaled in request.events:
            if journaled.seq <= watermark:
                self.events.setdefault(journaled.event.event_id, journaled)
        return UploadEventsResponse(acknowledged_seq=watermark, billed_count=len(request.events))

    async def wait_for_events(self, count: int, timeout_s: float = 5.0) -> None:
        """Wait until ``count`` distinct events were acknowledged."""
        await eventually(lambda: len(self.events) >= count, timeout_s=timeout_s, what=f"{count} events acknowledged")

    async def next_answer(self, timeout_s: float = 5.0) -> StreamIndexRequest:
        """The next message an edge sent on StreamIndex, skipping nothing."""
        async with asyncio.timeout(timeout_s):
            return await self.stream_requests.get()


async def start_fake_cloud(cloud: FakeCloud, port: int = 0) -> tuple[grpc.aio.Server, int]:
    """Serve ``cloud`` on loopback; returns the server and its port."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    index_sync_pb2_grpc.add_IndexSyncServiceServicer_to_server(cloud, server)
    event_ingest_pb2_grpc.add_EventIngestServiceServicer_to_server(cloud, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server, bound
