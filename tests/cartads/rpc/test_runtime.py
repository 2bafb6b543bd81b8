"""The request log wrapped around a servicer's handlers at registration (no interceptor)."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest

from cartads.rpc.runtime import add_logged_servicer
from cartads.v1 import ad_service_pb2_grpc
from cartads.v1.ad_service_pb2 import (
    GetAdsRequest,
    GetAdsResponse,
    GetStoreInfoRequest,
    GetStoreInfoResponse,
    ReportEventsRequest,
    ReportEventsResponse,
)


class _Lines:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append({"event": event, **fields})


class _Servicer(ad_service_pb2_grpc.AdServiceServicer):
    async def GetAds(self, request: GetAdsRequest, context: grpc.aio.ServicerContext[Any, Any]) -> GetAdsResponse:  # noqa: N802
        if request.cart_id == "bad":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad cart")
        return GetAdsResponse(request_id=request.request_id)

    async def ReportEvents(  # noqa: N802
        self, request: ReportEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ReportEventsResponse:
        return ReportEventsResponse()

    async def GetStoreInfo(  # noqa: N802
        self, request: GetStoreInfoRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> GetStoreInfoResponse:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not served here")


async def test_each_call_logs_one_line_with_method_ids_and_code() -> None:
    """OK and failed calls each log one line naming the method, the request's ids and the code."""
    lines = _Lines()
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    add_logged_servicer(server, ad_service_pb2_grpc.add_AdServiceServicer_to_server, _Servicer(), lines)  # type: ignore[arg-type]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = ad_service_pb2_grpc.AdServiceStub(channel)
            started = time.perf_counter()
            response = await stub.GetAds(GetAdsRequest(store_id="s", cart_id="c", request_id="r-1"))
            assert response.request_id == "r-1"
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.GetAds(GetAdsRequest(store_id="s", cart_id="bad"))
            calls_ms = (time.perf_counter() - started) * 1000
    finally:
        await server.stop(None)
    assert [(line["method"], line["code"], line["cart_id"]) for line in lines.lines] == [
        ("/cartads.v1.AdService/GetAds", "OK", "c"),
        ("/cartads.v1.AdService/GetAds", "INVALID_ARGUMENT", "bad"),
    ]
    assert lines.lines[0]["request_id"] == "r-1"
    assert "session_id" not in lines.lines[0]  # empty fields are left out
    assert all(line["event"] == "rpc" for line in lines.lines)
    # Milliseconds the server spent on each call: within what the client waited for both.
    assert all(0 <= line["latency_ms"] <= calls_ms for line in lines.lines)
