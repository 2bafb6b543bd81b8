"""The guard every registered handler runs under: corrupt requests are INVALID_ARGUMENT, a handler's
unexpected exception is INTERNAL with a reference (its traceback logged at error), and the request
log stays small under hostile input."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
import structlog
from structlog.testing import capture_logs

from cartads.rpc.errors import field_violations
from cartads.rpc.runtime import RequestLogInterceptor, add_logged_servicer
from cartads.v1 import ad_service_pb2_grpc, admin_pb2, admin_pb2_grpc
from cartads.v1.ad_service_pb2 import (
    GetAdsRequest,
    GetAdsResponse,
    GetStoreInfoRequest,
    GetStoreInfoResponse,
    ReportEventsRequest,
    ReportEventsResponse,
)

Ctx = grpc.aio.ServicerContext[Any, Any]


class _Lines:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

        self._added = asyncio.Event()

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append({"event": event, **fields})
        self._added.set()

    async def until(self, count: int) -> None:
        """Wait until ``count`` lines are written: the server logs after the caller has its answer."""
        await self._until(lambda: len(self.lines) >= count)

    async def until_accounted(self, calls: int) -> None:
        """Wait until ``calls`` calls are each logged or counted in an rpc_suppressed line."""
        await self._until(
            lambda: (
                sum(line.get("count", 1) for line in self.lines if line["event"] in ("rpc", "rpc_suppressed")) >= calls
            )
        )

    async def _until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not condition():
                self._added.clear()
                await self._added.wait()


class _Servicer(ad_service_pb2_grpc.AdServiceServicer):
    async def GetAds(self, request: GetAdsRequest, context: Ctx) -> GetAdsResponse:  # noqa: N802
        if request.cart_id == "bug":
            raise ValueError("secret detail of a bug")
        if request.cart_id.startswith("refuse"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "refused")
        return GetAdsResponse(request_id=request.request_id)

    async def ReportEvents(self, request: ReportEventsRequest, context: Ctx) -> ReportEventsResponse:  # noqa: N802
        return ReportEventsResponse()

    async def GetStoreInfo(self, request: GetStoreInfoRequest, context: Ctx) -> GetStoreInfoResponse:  # noqa: N802
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not served here")


@pytest.fixture
async def served() -> AsyncIterator[tuple[grpc.aio.Channel, _Lines]]:
    lines = _Lines()
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    add_logged_servicer(server, ad_service_pb2_grpc.add_AdServiceServicer_to_server, _Servicer(), lines)  # type: ignore[arg-type]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel, lines
    finally:
        await channel.close(None)
        await server.stop(None)


async def test_corrupt_request_answers_invalid_argument_on_the_whole_request(
    served: tuple[grpc.aio.Channel, _Lines],
) -> None:
    """Bytes that do not parse get INVALID_ARGUMENT with a violation on field "" naming the message type."""
    channel, _ = served
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await channel.unary_unary("/cartads.v1.AdService/GetAds", None, None)(b"\x0a\x05ab")
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(raised.value) == [("", "request does not parse as cartads.v1.GetAdsRequest (4 bytes)")]


async def test_unexpected_exception_answers_internal_with_a_reference(served: tuple[grpc.aio.Channel, _Lines]) -> None:
    """A handler's bug answers INTERNAL "internal error (ref …)", without the exception's class or message."""
    channel, _ = served
    with capture_logs() as logs, pytest.raises(grpc.aio.AioRpcError) as raised:
        await ad_service_pb2_grpc.AdServiceStub(channel).GetAds(GetAdsRequest(cart_id="bug"))
    assert raised.value.code() == grpc.StatusCode.INTERNAL
    details = raised.value.details() or ""
    match = re.fullmatch(r"internal error \(ref ([0-9a-f]{8})\)", details)
    assert match is not None
    errors = [line for line in logs if line["event"] == "rpc_internal_error"]
    assert [(e["log_level"], e["ref"], type(e["exc_info"])) for e in errors] == [("error", match.group(1), ValueError)]


async def test_failed_calls_are_logged_with_their_code(served: tuple[grpc.aio.Channel, _Lines]) -> None:
    """A corrupt request and a bug are each logged as one request line with the status they got."""
    channel, lines = served
    with pytest.raises(grpc.aio.AioRpcError):
        await channel.unary_unary("/cartads.v1.AdService/GetAds", None, None)(b"\x0a\x05ab")
    with pytest.raises(grpc.aio.AioRpcError):
        await ad_service_pb2_grpc.AdServiceStub(channel).GetAds(GetAdsRequest(cart_id="bug"))
    await lines.until(2)
    assert [line["code"] for line in lines.lines] == ["INVALID_ARGUMENT", "INTERNAL"]


async def test_long_caller_strings_are_clipped_in_the_request_line(served: tuple[grpc.aio.Channel, _Lines]) -> None:
    """A megabyte cart_id reaches the request log as its first 128 characters and a count of the rest."""
    channel, lines = served
    await ad_service_pb2_grpc.AdServiceStub(channel).GetAds(GetAdsRequest(cart_id="c" * 1_000_000))
    await lines.until(1)
    assert lines.lines[0]["cart_id"] == "c" * 128 + "…(+999872)"


async def test_refusals_past_the_budget_are_counted_not_logged(served: tuple[grpc.aio.Channel, _Lines]) -> None:
    """Of 50 refused calls in a burst, 20 are logged; the rest are reported as one rpc_suppressed count."""
    channel, lines = served
    stub = ad_service_pb2_grpc.AdServiceStub(channel)
    for _ in range(50):
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.GetAds(GetAdsRequest(cart_id="refuse"))
    await lines.until_accounted(50)
    refused = [line for line in lines.lines if line["event"] == "rpc"]
    # The burst may straddle a second boundary: then up to twice the budget is logged.
    assert 20 <= len(refused) <= 40
    assert any(line["event"] == "rpc_suppressed" for line in lines.lines)


class _Admin(admin_pb2_grpc.AdminServiceServicer):
    async def ImportCatalog(  # noqa: N802
        self, request_iterator: AsyncIterator[admin_pb2.ImportCatalogRequest], context: Ctx
    ) -> admin_pb2.ImportCatalogResponse:
        count = 0
        async for _ in request_iterator:
            count += 1
        if count == 2:
            raise KeyError("bug in a stream handler")
        return admin_pb2.ImportCatalogResponse()


@pytest.fixture
async def admin_channel() -> AsyncIterator[grpc.aio.Channel]:
    server = grpc.aio.server(
        interceptors=[RequestLogInterceptor(structlog.get_logger("t"))], options=[("grpc.so_reuseport", 0)]
    )
    admin_pb2_grpc.add_AdminServiceServicer_to_server(_Admin(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel
    finally:
        await channel.close(None)
        await server.stop(None)


async def test_a_corrupt_message_in_a_request_stream_ends_it_with_invalid_argument(
    admin_channel: grpc.aio.Channel,
) -> None:
    """A client stream whose second message does not parse is answered INVALID_ARGUMENT."""

    async def messages() -> AsyncIterator[bytes]:
        yield admin_pb2.ImportCatalogRequest(store_id="s").SerializeToString()
        yield b"\x0a\x05ab"

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await admin_channel.stream_unary("/cartads.v1.AdminService/ImportCatalog", None, None)(messages())
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cartads.v1.ImportCatalogRequest" in (raised.value.details() or "")


async def test_a_stream_handler_bug_answers_internal_with_a_reference(admin_channel: grpc.aio.Channel) -> None:
    """An unexpected exception in a streaming handler answers INTERNAL with a reference, not UNKNOWN."""

    async def messages() -> AsyncIterator[admin_pb2.ImportCatalogRequest]:
        for _ in range(2):
            yield admin_pb2.ImportCatalogRequest(store_id="s")

    stub = admin_pb2_grpc.AdminServiceStub(admin_channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ImportCatalog(messages())
    assert raised.value.code() == grpc.StatusCode.INTERNAL
    assert re.fullmatch(r"internal error \(ref [0-9a-f]{8}\)", raised.value.details() or "")
