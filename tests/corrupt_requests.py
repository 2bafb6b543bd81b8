"""The contract's every method, and a call to one with bytes that parse as no request: shared by the
poison tests that send corrupt bytes to in-process servers and to real processes."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator, Iterator

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

import cartads.v1

# A length-delimited field 1 that claims 5 bytes and has 2: no message type parses it.
CORRUPT = b"\x0a\x05ab"
EDGE_SERVICES = frozenset({"cartads.v1.AdService"})
CLOUD_SERVICES = frozenset(
    {
        "cartads.v1.AdminService",
        "cartads.v1.IndexSyncService",
        "cartads.v1.EventIngestService",
        "cartads.v1.AssetService",
    }
)


def contract_services() -> Iterator[ServiceDescriptor]:
    """Every service of the generated contract."""
    for module in pkgutil.iter_modules(cartads.v1.__path__):
        if module.name.endswith("_pb2"):
            descriptor = importlib.import_module(f"cartads.v1.{module.name}").DESCRIPTOR
            yield from descriptor.services_by_name.values()


def contract_methods() -> list[MethodDescriptor]:
    return sorted((m for s in contract_services() for m in s.methods), key=lambda m: m.full_name)


async def send_corrupt_bytes(channel: grpc.aio.Channel, method: MethodDescriptor) -> None:
    """Call ``method`` with a request (or a request stream) of corrupt bytes, reading every answer."""
    path = f"/{method.containing_service.full_name}/{method.name}"

    async def requests() -> AsyncIterator[bytes]:
        yield CORRUPT

    if method.client_streaming and method.server_streaming:
        async for _ in channel.stream_stream(path, None, None)(requests()):
            pass
    elif method.client_streaming:
        await channel.stream_unary(path, None, None)(requests())
    elif method.server_streaming:
        async for _ in channel.unary_stream(path, None, None)(CORRUPT):
            pass
    else:
        await channel.unary_unary(path, None, None)(CORRUPT)
