"""Plumbing every CartAds gRPC server shares: size limits, health, reflection, one log line per call."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

if TYPE_CHECKING:
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _ServerInterceptor = grpc.aio.ServerInterceptor

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024

# Fields whose values identify a request in the log line, when the request has them.
_LOGGED_FIELDS = ("request_id", "store_id", "cart_id", "session_id", "edge_id")


def server_options(max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> list[tuple[str, int]]:
    """Options for grpc.aio.server: message size caps, and no silent port sharing (see PERF_NOTES)."""
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]


def enable_health_and_reflection(server: grpc.aio.Server, service_names: Sequence[str]) -> health.HealthServicer:
    """Serve grpc.health.v1.Health and server reflection; every named service starts NOT_SERVING."""
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    for name in service_names:
        servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    reflection.enable_server_reflection([*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    return servicer


def set_serving(servicer: health.HealthServicer, service_names: Sequence[str], serving: bool) -> None:
    """Mark the named services (and the server as a whole, "") serving or not."""
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ("", *service_names):
        servicer.set(name, status)


class RequestLogInterceptor(_ServerInterceptor):
    """Logs one canonical line per unary call: method, ids from the request, status code, latency."""

    def __init__(self, logger: structlog.typing.FilteringBoundLogger | None = None) -> None:
        self._log = logger or structlog.get_logger("rpc")
        # Wrapped handlers per method: building one on every call costs the edge's hot path.
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        cached = self._wrapped.get(handler_call_details.method)
        if cached is not None:
            return cached
        handler = await continuation(handler_call_details)
        # Only coroutine handlers are wrapped: the stock health servicer is synchronous and runs as is.
        if handler is None or handler.unary_unary is None or not inspect.iscoroutinefunction(handler.unary_unary):
            return handler
        method = handler_call_details.method
        inner = handler.unary_unary
        log = self._log

        async def logged(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            start = time.perf_counter()
            code = "OK"
            try:
                response = await inner(request, cast("grpc.ServicerContext", context))
                context_code = context.code()
                if context_code is not None and context_code != grpc.StatusCode.OK:
                    code = context_code.name
                return response
            except BaseException:
                context_code = context.code()
                code = context_code.name if context_code is not None else "UNKNOWN"
                raise
            finally:
                fields = {name: getattr(request, name) for name in _LOGGED_FIELDS if getattr(request, name, "")}
                log.info(
                    "rpc",
                    method=method,
                    code=code,
                    latency_ms=round((time.perf_counter() - start) * 1000, 3),
                    **fields,
                )

        wrapped = grpc.unary_unary_rpc_method_handler(
            logged,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        self._wrapped[method] = wrapped
        return wrapped
