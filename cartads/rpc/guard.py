"""The guard around every handler of a CartAds server: bytes that do not parse answer INVALID_ARGUMENT
and an exception a handler did not turn into a status answers INTERNAL with a short reference,
never grpc's UNKNOWN with a Python class name.

``cartads.rpc.runtime`` applies it with the request log to the servicers it registers; here are the
parts that do not log, for streaming handlers and for the stock health and reflection servicers.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import AsyncIterator, Callable
from typing import Any, NoReturn

import grpc
import structlog

from cartads.rpc.errors import CartAdsError, InvalidArgumentError, abort_with

_AbortError = grpc.aio.AbortError
Ctx = grpc.aio.ServicerContext[Any, Any]


class CorruptRequest:
    """What a request that does not parse deserializes to, so its handler can answer INVALID_ARGUMENT.

    grpc.aio answers a deserializer's exception with UNKNOWN and the exception's class name; the
    handlers wrapped here see this instead and refuse the call themselves.
    """

    __slots__ = ("size", "type_name")

    def __init__(self, size: int, type_name: str) -> None:
        self.size = size
        self.type_name = type_name

    def error(self) -> InvalidArgumentError:
        """The refusal: a violation on the request as a whole (field "")."""
        return InvalidArgumentError([("", f"request does not parse as {self.type_name} ({self.size} bytes)")])


class CorruptRequestError(InvalidArgumentError):
    """A message of a request stream did not parse."""


def message_name(deserializer: Callable[[bytes], Any] | None) -> str:
    """The full name of the message a generated deserializer (``Message.FromString``) parses."""
    descriptor = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)
    return str(getattr(descriptor, "full_name", "the request message"))


def tolerant_deserializer(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``deserializer`` answering ``CorruptRequest`` instead of raising on bytes that do not parse."""
    if deserializer is None:
        return None
    type_name = message_name(deserializer)

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:  # DecodeError, and anything else a parser of hostile bytes may raise
            return CorruptRequest(len(data), type_name)

    return deserialize


_errors = structlog.get_logger("rpc")


async def abort_unexpected(context: Ctx, error: Exception, method: str) -> NoReturn:
    """End a call whose handler failed unexpectedly: INTERNAL with a short reference, never the
    exception's class or message; the traceback is logged at error under the same reference."""
    ref = os.urandom(4).hex()
    with contextlib.suppress(Exception):  # a log that cannot be written must not change the answer
        _errors.error("rpc_internal_error", method=method, ref=ref, exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error (ref {ref})")


async def _checked_requests(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        if type(request) is CorruptRequest:
            raise CorruptRequestError(request.error().violations)
        yield request


def guarded_stream(inner: Any, method: str, *, request_streaming: bool) -> Any:
    """A streaming behaviour that refuses corrupt requests with INVALID_ARGUMENT (a corrupt message
    anywhere in a request stream ends the call so) and answers INTERNAL with a reference for any
    exception its handler did not turn into a status; an async generator when ``inner`` is one."""

    def requests_of(request: Any) -> Any:
        return _checked_requests(request) if request_streaming else request

    async def refuse(context: grpc.aio.ServicerContext[Any, Any], error: Exception) -> NoReturn:
        if isinstance(error, _AbortError):
            raise error
        if isinstance(error, CartAdsError):
            await abort_with(context, error)
        await abort_unexpected(context, error, method)

    if inspect.isasyncgenfunction(inner):

        async def generator(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            if type(request) is CorruptRequest:
                await abort_with(context, request.error())
            try:
                async for response in inner(requests_of(request), context):
                    yield response
            except Exception as error:
                await refuse(context, error)

        return generator

    async def coroutine(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        if type(request) is CorruptRequest:
            await abort_with(context, request.error())
        try:
            return await inner(requests_of(request), context)
        except Exception as error:
            await refuse(context, error)

    return coroutine


def is_async(behaviour: Any) -> bool:
    return inspect.iscoroutinefunction(behaviour) or inspect.isasyncgenfunction(behaviour)


def _guarded_unary(inner: Callable[..., Any], method: str) -> Callable[[Any, Ctx], Any]:
    """A unary behaviour (synchronous or not) under the guard, logging nothing."""

    async def unary(request: Any, context: Ctx) -> Any:
        if type(request) is CorruptRequest:
            await abort_with(context, request.error())
        try:
            response = inner(request, context)
            return await response if inspect.isawaitable(response) else response
        except _AbortError:
            raise
        except CartAdsError as error:
            await abort_with(context, error)
        except Exception as error:
            await abort_unexpected(context, error, method)

    return unary


def _refusing_sync_stream(inner: Callable[..., Any]) -> Callable[[Any, Ctx], Any]:
    """A synchronous response stream (the stock health Watch) refusing a corrupt request.

    It stays synchronous: grpc runs it off the event loop, and its iterator blocks between updates.
    A synchronous handler cannot await ``abort``, so the status is set and no response is sent.
    """

    def stream(request: Any, context: Ctx) -> Any:
        if type(request) is CorruptRequest:
            context.set_code(grpc.StatusCode.INVALID_ARGUMENT)
            context.set_details(request.error().message)
            return iter(())
        return inner(request, context)

    return stream


def guarded_stock_handler(handler: grpc.RpcMethodHandler[Any, Any], method: str) -> grpc.RpcMethodHandler[Any, Any]:
    """``handler`` of a stock servicer (health, reflection) under the guard, without a request log."""
    ser: dict[str, Any] = {
        "request_deserializer": tolerant_deserializer(handler.request_deserializer),
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(_guarded_unary(handler.unary_unary, method), **ser)
    if handler.unary_stream is not None:
        inner = handler.unary_stream
        if is_async(inner):
            return grpc.unary_stream_rpc_method_handler(guarded_stream(inner, method, request_streaming=False), **ser)
        return grpc.unary_stream_rpc_method_handler(_refusing_sync_stream(inner), **ser)
    if handler.stream_stream is not None and is_async(handler.stream_stream):
        guarded = guarded_stream(handler.stream_stream, method, request_streaming=True)
        return grpc.stream_stream_rpc_method_handler(guarded, **ser)
    if handler.stream_unary is not None and is_async(handler.stream_unary):
        guarded = guarded_stream(handler.stream_unary, method, request_streaming=True)
        return grpc.stream_unary_rpc_method_handler(guarded, **ser)
    return handler


class GuardingRegistrar:
    """Stands in for the server in a generated ``add_XServicer_to_server``: registers each method
    handler under ``guarded_stock_handler``."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: object) -> None:
        """Ignored: the same handlers arrive by name through add_registered_method_handlers."""

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        guarded = {name: guarded_stock_handler(h, f"/{service_name}/{name}") for name, h in method_handlers.items()}
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service_name, guarded),))
        server: Any = self._server  # the method is missing from grpc's type stubs
        server.add_registered_method_handlers(service_name, guarded)
