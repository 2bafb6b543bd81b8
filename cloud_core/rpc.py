"""Servicer plumbing: CloudError raised anywhere in a handler becomes that error's gRPC status."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from cloud_core.errors import CloudError, abort_with

S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")
Ctx = grpc.aio.ServicerContext[Any, Any]


def maps_errors(fn: Callable[[S, Req, Ctx], Awaitable[Resp]]) -> Callable[[S, Req, Ctx], Awaitable[Resp]]:
    """Wrap a unary or client-streaming handler so CloudError aborts the call with its status."""

    @functools.wraps(fn)
    async def wrapper(self: S, request: Req, context: Ctx) -> Resp:
        try:
            return await fn(self, request, context)
        except CloudError as error:
            await abort_with(context, error)

    return wrapper
