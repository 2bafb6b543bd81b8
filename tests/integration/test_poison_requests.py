"""Bytes that do not parse, sent to every method of the edge and the cloud, are refused with
INVALID_ARGUMENT naming no Python class, and both servers keep answering.

The methods are found by walking the contract's service descriptors, so a method added later is
covered without touching this test.
"""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import DecodeError
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

from cartads.rpc.bearer import aio_channel
from cartads.v1.ad_service_pb2 import GetAdsRequest
from cartads.v1.admin_pb2 import ListStoresRequest
from tests.corrupt_requests import (
    CLOUD_SERVICES,
    CORRUPT,
    EDGE_SERVICES,
    contract_methods,
    contract_services,
    send_corrupt_bytes,
)
from tests.integration.whole_loop import STORE_ID, Loop


def test_every_service_is_served_by_the_edge_or_the_cloud() -> None:
    """Each service of the contract is assigned to a server below, so none escapes the corrupt-bytes test."""
    assert {s.full_name for s in contract_services()} == EDGE_SERVICES | CLOUD_SERVICES


def test_the_corrupt_bytes_parse_as_no_request_type() -> None:
    """The bytes sent below are corrupt for every request type (else the test would prove nothing)."""
    for method in contract_methods():
        with pytest.raises(DecodeError):
            GetMessageClass(method.input_type).FromString(CORRUPT)


async def _call_with_corrupt_bytes(channel: grpc.aio.Channel, method: MethodDescriptor) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await send_corrupt_bytes(channel, method)
    return raised.value


async def test_corrupt_bytes_to_every_method_answer_invalid_argument(loop: Loop) -> None:
    """Every unary and streaming method of edge and cloud answers corrupt bytes with INVALID_ARGUMENT."""
    edge = grpc.aio.insecure_channel(f"127.0.0.1:{loop.edge.port}")
    admin = aio_channel(f"127.0.0.1:{loop.cloud.port}", loop.admin_token)
    edge_services = aio_channel(f"127.0.0.1:{loop.cloud.port}", loop.edge_token)
    answers: dict[str, tuple[grpc.StatusCode, str]] = {}
    try:
        for method in contract_methods():
            service = method.containing_service.full_name
            channel = edge if service in EDGE_SERVICES else admin if service.endswith("AdminService") else edge_services
            error = await _call_with_corrupt_bytes(channel, method)
            answers[method.full_name] = (error.code(), error.details() or "")
    finally:
        for channel in (edge, admin, edge_services):
            await channel.close(None)
    assert {name for name, (code, _) in answers.items() if code != grpc.StatusCode.INVALID_ARGUMENT} == set()
    assert all("does not parse" in details and "<class" not in details for _, details in answers.values())


async def test_servers_answer_after_corrupt_bytes(loop: Loop) -> None:
    """After corrupt requests to every method, the edge still serves ads and the cloud still answers."""
    edge = grpc.aio.insecure_channel(f"127.0.0.1:{loop.edge.port}")
    admin = aio_channel(f"127.0.0.1:{loop.cloud.port}", loop.admin_token)
    try:
        for method in contract_methods():
            service = method.containing_service.full_name
            await _call_with_corrupt_bytes(edge if service in EDGE_SERVICES else admin, method)
    finally:
        await edge.close(None)
        await admin.close(None)
    response = await loop.ads.GetAds(GetAdsRequest(store_id=STORE_ID, cart_id="cart-after", max_ads=1))
    assert response.index_version
    stores = await loop.admin.ListStores(ListStoresRequest())
    assert [s.store_id for s in stores.stores] == [STORE_ID]


def stock_methods() -> list[MethodDescriptor]:
    """The methods of the health and reflection services every server also serves."""
    services = [
        health_pb2.DESCRIPTOR.services_by_name["Health"],
        reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"],
    ]
    return [m for s in services for m in s.methods]


async def test_corrupt_bytes_to_health_and_reflection_answer_invalid_argument(loop: Loop) -> None:
    """The stock health and reflection services of edge and cloud refuse corrupt bytes the same way."""
    codes: dict[str, grpc.StatusCode] = {}
    for name, port in (("edge", loop.edge.port), ("cloud", loop.cloud.port)):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            for method in stock_methods():
                codes[f"{name} {method.full_name}"] = (await _call_with_corrupt_bytes(channel, method)).code()
    assert len(codes) == 2 * len(stock_methods())
    assert {where for where, code in codes.items() if code != grpc.StatusCode.INVALID_ARGUMENT} == set()
