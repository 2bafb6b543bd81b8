"""Plumbing every CartAds gRPC server shares: size limits, health, reflection, one log line per call,
and the guard that answers bad bytes INVALID_ARGUMENT and a handler's bug INTERNAL, never UNKNOWN."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer

from cartads.ops.logs import LogBudget, clip
from cartads.rpc.errors import CartAdsError, abort_with
from cartads.rpc.guard import (
    CorruptRequest,
    GuardingRegistrar,
    abort_unexpected,
    guarded_stream,
    is_async,
    message_name,
    tolerant_deserializer,
)

if TYPE_CHECKING:
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _ServerInterceptor = grpc.aio.ServerInterceptor

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
_AbortError = grpc.aio.AbortError

# Health and reflection: guarded where they are registered, and not logged (probes call them often).
_STOCK_SERVICES = (f"/{health.SERVICE_NAME}/", f"/{reflection.SERVICE_NAME}/")
# Fields whose values identify a request in the log line, when the request has them.
_LOGGED_FIELDS = ("request_id", "store_id", "cart_id", "session_id", "edge_id")


def server_options(max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> list[tuple[str, int]]:
    """Options for grpc.aio.server: message size caps, and no silent port sharing.

    grpc enables SO_REUSEPORT by default on Linux, so a second server started on a taken port binds
    without an error and takes part of the traffic; the edge's ``--workers`` asks for it explicitly.
    Keepalive is set apart, per long-lived connection (``cartads.rpc.keepalive``).
    """
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]


def enable_health_and_reflection(server: grpc.aio.Server, service_names: Sequence[str]) -> health.HealthServicer:
    """Serve grpc.health.v1.Health and server reflection; every named service starts NOT_SERVING.

    Both are registered under the guard (``cartads.rpc.guard``), so their requests that do not
    parse answer INVALID_ARGUMENT as every CartAds method's do.
    """
    servicer = health.HealthServicer()
    registrar: Any = GuardingRegistrar(server)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, registrar)
    for name in service_names:
        servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    names = [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME]
    # The servicer reflection.enable_server_reflection gives a grpc.aio server, registered here.
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(ReflectionServicer(names), registrar)
    return servicer


def set_serving(servicer: health.HealthServicer, service_names: Sequence[str], serving: bool) -> None:
    """Mark the named services (and the server as a whole, "") serving or not."""
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ("", *service_names):
        servicer.set(name, status)


_FIELDS_OF_TYPE: dict[type, tuple[str, ...]] = {}


def _logged_fields(request_type: type) -> tuple[str, ...] | None:
    """The logged fields a request message type has, looked up once per type: getattr with a default
    on a field the message lacks raises and formats an AttributeError inside, on every call."""
    names = _FIELDS_OF_TYPE.get(request_type)
    if names is None:
        descriptor = getattr(request_type, "DESCRIPTOR", None)
        if descriptor is None:  # not a protobuf message: its attributes are not known in advance
            return None
        names = _FIELDS_OF_TYPE[request_type] = tuple(n for n in _LOGGED_FIELDS if n in descriptor.fields_by_name)
    return names


def _log_suppressed(log: structlog.typing.FilteringBoundLogger) -> Callable[[Hashable, int], None]:
    def report(key: Hashable, count: int) -> None:
        method, code = key if isinstance(key, tuple) else (str(key), "")
        log.info("rpc_suppressed", method=method, code=code, count=count)

    return report


def _logged_unary(
    inner: Callable[..., Awaitable[Any]],
    method: str,
    log: structlog.typing.FilteringBoundLogger,
    parse: Callable[[bytes], Any] | None = None,
) -> Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]:
    """``inner`` (a coroutine unary handler) logging one line per call: method, ids, code, latency.

    The request arrives as bytes and is parsed here with ``parse`` (grpc gets no deserializer: one
    that raised would make it answer UNKNOWN with the exception's class, and one that caught would
    cost the hot path a Python call of its own). A request that does not parse is refused with
    INVALID_ARGUMENT, and an exception the handler did not turn into a status answers INTERNAL with
    a reference; lines of failed calls are limited per code (``LogBudget``), and every string a
    caller sent is clipped.
    """
    type_name = message_name(parse)
    perf_counter = time.perf_counter
    ok = grpc.StatusCode.OK
    budget = LogBudget(_log_suppressed(log))
    # A log with an ``rpc`` method (edge_node.serving.access_log.BatchedJsonLog) renders the same line without
    # a dict of fields; looked up on the type, as a structlog proxy answers any attribute.
    rpc_line: Callable[[str, str, float, Any, Sequence[str]], None] | None = (
        getattr(log, "rpc") if callable(getattr(type(log), "rpc", None)) else None  # noqa: B009
    )

    async def logged(data: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        start = perf_counter()
        code = "OK"
        request = data
        try:
            if parse is not None:
                try:
                    request = parse(data)
                except Exception:  # DecodeError, and anything else a parser of hostile bytes may raise
                    request = CorruptRequest(len(data), type_name)
            if type(request) is CorruptRequest:
                await abort_with(context, request.error())
            try:
                response = await inner(request, context)
            except _AbortError:
                raise
            except CartAdsError as error:
                await abort_with(context, error)
            except Exception as error:
                await abort_unexpected(context, error, method)
            context_code = context.code()
            if context_code is not None and context_code != ok:
                code = context_code.name
            return response
        except BaseException:
            context_code = context.code()
            code = context_code.name if context_code is not None else "UNKNOWN"
            raise
        finally:
            if code == "OK" or budget.allow((method, code)):
                latency_ms = round((perf_counter() - start) * 1000, 3)
                names = _FIELDS_OF_TYPE.get(type(request)) or _logged_fields(type(request))
                if names is not None and rpc_line is not None:
                    rpc_line(method, code, latency_ms, request, names)
                else:
                    if names is None:
                        names = _LOGGED_FIELDS
                    fields = {
                        name: clip(value) if type(value) is str else value
                        for name in names
                        if (value := getattr(request, name, ""))
                    }
                    log.info("rpc", method=method, code=code, latency_ms=latency_ms, **fields)

    return logged


def guarded_handler(
    handler: grpc.RpcMethodHandler[Any, Any], method: str, log: structlog.typing.FilteringBoundLogger
) -> grpc.RpcMethodHandler[Any, Any] | None:
    """``handler`` as every CartAds server runs it: requests that do not parse answer INVALID_ARGUMENT,
    unexpected exceptions INTERNAL with a reference, and unary calls log one line each. None for a
    handler left as it is (synchronous ones, such as the stock health servicer's)."""
    if handler.unary_unary is not None:
        if not inspect.iscoroutinefunction(handler.unary_unary):
            return None
        logged = _logged_unary(handler.unary_unary, method, log, handler.request_deserializer)
        return grpc.unary_unary_rpc_method_handler(logged, response_serializer=handler.response_serializer)
    ser: dict[str, Any] = {
        "request_deserializer": tolerant_deserializer(handler.request_deserializer),
        "response_serializer": handler.response_serializer,
    }
    if handler.stream_unary is not None and is_async(handler.stream_unary):
        guarded = guarded_stream(handler.stream_unary, method, request_streaming=True)
        return grpc.stream_unary_rpc_method_handler(guarded, **ser)
    if handler.unary_stream is not None and is_async(handler.unary_stream):
        guarded = guarded_stream(handler.unary_stream, method, request_streaming=False)
        return grpc.unary_stream_rpc_method_handler(guarded, **ser)
    if handler.stream_stream is not None and is_async(handler.stream_stream):
        guarded = guarded_stream(handler.stream_stream, method, request_streaming=True)
        return grpc.stream_stream_rpc_method_handler(guarded, **ser)
    return None


def _with_request_log(
    handler: grpc.RpcMethodHandler[Any, Any], method: str, log: structlog.typing.FilteringBoundLogger
) -> grpc.RpcMethodHandler[Any, Any]:
    return guarded_handler(handler, method, log) or handler


class _LoggingRegistrar:
    """Stands in for the server in a generated ``add_XServicer_to_server``: registers its method
    handlers with the request log wrapped around them, once, instead of through an interceptor."""

    def __init__(self, server: grpc.aio.Server, log: structlog.typing.FilteringBoundLogger) -> None:
        self._server = server
        self._log = log
        self.registered = False

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler[Any, Any]]) -> None:
        """Ignored: the same handlers arrive by name through add_registered_method_handlers."""

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        wrapped = {
            name: _with_request_log(handler, f"/{service_name}/{name}", self._log)
            for name, handler in method_handlers.items()
        }
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service_name, wrapped),))
        server: Any = self._server  # the method is missing from grpc's type stubs
        server.add_registered_method_handlers(service_name, wrapped)
        self.registered = True


def add_logged_servicer(
    server: grpc.aio.Server,
    add_to_server: Callable[[Any, Any], None],
    servicer: object,
    logger: structlog.typing.FilteringBoundLogger | None = None,
) -> None:
    """Register ``servicer`` with ``add_to_server`` (generated) so each unary call logs one line.

    The same line RequestLogInterceptor writes, but wrapped around the handlers once at registration:
    a grpc.aio server with any interceptor runs an interceptor pipeline (one more coroutine and a
    handler lookup) on every call. Measured on the floor server, that pipeline is small next to the
    log line itself (~20 µs of ~250 µs per call under h2load), but it needs no per-call pipeline at all.
    """
    registrar = _LoggingRegistrar(server, logger or structlog.get_logger("rpc"))
    add_to_server(servicer, registrar)
    if not registrar.registered:
        raise TypeError(f"{add_to_server!r} registered no method handlers by name")


class MethodWrappingInterceptor(_ServerInterceptor):
    """A server interceptor that wraps each method's handler once and reuses the wrapper.

    Looking up and wrapping a handler on every call costs the edge's hot path; a subclass says how
    to wrap (``wrap``) and this class keeps one wrapper per method name.
    """

    def __init__(self) -> None:
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def wrap(self, handler: grpc.RpcMethodHandler[Any, Any], method: str) -> grpc.RpcMethodHandler[Any, Any] | None:
        """The handler to run for ``method`` (its full ``/service/Method`` name); None leaves it as is."""
        raise NotImplementedError

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None:
            return cached
        # None for a method no servicer has (the stubs say otherwise): grpc answers UNIMPLEMENTED.
        handler: grpc.RpcMethodHandler[Any, Any] | None = await continuation(handler_call_details)
        if handler is None:
            return handler  # type: ignore[return-value]
        wrapped = self.wrap(handler, method)
        if wrapped is None:
            return handler
        self._wrapped[method] = wrapped
        return wrapped


class RequestLogInterceptor(MethodWrappingInterceptor):
    """Logs one canonical line per unary call (method, ids from the request, status code, latency), and
    guards every method: see ``guarded_handler``."""

    def __init__(self, logger: structlog.typing.FilteringBoundLogger | None = None) -> None:
        super().__init__()
        self._log = logger or structlog.get_logger("rpc")

    def wrap(self, handler: grpc.RpcMethodHandler[Any, Any], method: str) -> grpc.RpcMethodHandler[Any, Any] | None:
        if method.startswith(_STOCK_SERVICES):
            return None  # guarded where enable_health_and_reflection registers them; probes are not logged
        return guarded_handler(handler, method, self._log)
