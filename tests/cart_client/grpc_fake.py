"""A real grpc.aio AdService on 127.0.0.1 port 0, backed by the in-memory FakeAdService."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import grpc

from cartads.rpc.runtime import server_options
from cartads.v1 import ad_service_pb2, ad_service_pb2_grpc
from tests.cart_client.fakes import FakeAdService


@dataclass
class FakeAdServicer(ad_service_pb2_grpc.AdServiceServicer):
    """Serves the fake over gRPC; clearing ``get_ads_open`` holds GetAds calls until it is set again."""

    fake: FakeAdService
    get_ads_open: asyncio.Event = field(default_factory=asyncio.Event)
    # While set, every call fails with UNAVAILABLE, as an edge that went away does.
    down: bool = False

    def __post_init__(self) -> None:
        self.get_ads_open.set()

    async def GetAds(  # noqa: N802 - the gRPC method's name
        self, request: ad_service_pb2.GetAdsRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> ad_service_pb2.GetAdsResponse:
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "edge is down")
        await self.get_ads_open.wait()
        return await self.fake.GetAds(request)

    async def ReportEvents(  # noqa: N802 - the gRPC method's name
        self, request: ad_service_pb2.ReportEventsRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> ad_service_pb2.ReportEventsResponse:
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "edge is down")
        return await self.fake.ReportEvents(request)

    async def GetStoreInfo(  # noqa: N802 - the gRPC method's name
        self, request: ad_service_pb2.GetStoreInfoRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> ad_service_pb2.GetStoreInfoResponse:
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "edge is down")
        if self.fake.store_info is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this fake edge has no store info")
        self.fake.store_info_requests.append(request)
        return self.fake.store_info


@dataclass(frozen=True)
class RunningFake:
    """A started fake edge: where it listens and what it serves."""

    port: int
    servicer: FakeAdServicer

    @property
    def address(self) -> str:
        """HOST:PORT for clients."""
        return f"127.0.0.1:{self.port}"


@asynccontextmanager
async def fake_edge(fake: FakeAdService) -> AsyncIterator[RunningFake]:
    """Serve ``fake`` on a free loopback port for the duration of the block."""
    server = grpc.aio.server(options=server_options())
    servicer = FakeAdServicer(fake)
    ad_service_pb2_grpc.add_AdServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield RunningFake(port, servicer)
    finally:
        # Release held calls so the server stops without cancelling handlers mid-await.
        servicer.get_ads_open.set()
        await server.stop(grace=None)
