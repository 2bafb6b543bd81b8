"""The one error hierarchy of CartAds, and the one place that maps it to gRPC statuses.

A handler raises a ``CartAdsError`` subclass; ``abort_with`` (or the ``maps_errors`` decorator)
turns it into its status, with a ``google.rpc.BadRequest`` naming each offending field, so a
caller sees which field was wrong and never a traceback. Each component adds its own subclasses
(``edge_node.errors``) and maps them here too.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, TypeVar

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status


class CartAdsError(Exception):
    """Base of every error a CartAds server reports to a caller."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, violations: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.violations = list(violations)


class InvalidArgumentError(CartAdsError):
    """The request is malformed; ``violations`` name the offending fields."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: Sequence[tuple[str, str]], message: str = "") -> None:
        text = message or "; ".join(f"{field}: {why}" for field, why in violations) or "invalid argument"
        super().__init__(text, violations)


class _FieldError(CartAdsError):
    """An error about one named thing; ``field`` (when given) becomes its one violation."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message, [(field, message)] if field else [])


class NotFoundError(_FieldError):
    """A named resource (or its parent) does not exist, or is not this server's (another store)."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(_FieldError):
    """A client-given id is already taken."""

    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDeniedError(_FieldError):
    """The caller's identity (its token or client certificate) does not allow this (e.g. another store)."""

    code = grpc.StatusCode.PERMISSION_DENIED


class FailedPreconditionError(CartAdsError):
    """The request is valid but the current state forbids it (e.g. deleting a parent)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class UnauthenticatedError(CartAdsError):
    """The call carries no credentials, or ones the server does not accept (unknown or revoked token)."""

    code = grpc.StatusCode.UNAUTHENTICATED


class UnavailableError(CartAdsError):
    """The server cannot answer now (e.g. it is shutting down); the caller may retry."""

    code = grpc.StatusCode.UNAVAILABLE


class ResourceExhaustedError(CartAdsError):
    """A limit is reached (e.g. a full journal); the caller keeps its data and retries later.

    ``retry_delay_s``, when given, travels as a ``google.rpc.RetryInfo`` (a cart over its rate).
    """

    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, message: str, violations: Sequence[tuple[str, str]] = (), retry_delay_s: float = 0.0) -> None:
        super().__init__(message, violations)
        self.retry_delay_s = retry_delay_s


def field_violation_status(code: grpc.StatusCode, message: str, violations: Sequence[tuple[str, str]]) -> grpc.Status:
    """A status whose details carry a ``google.rpc.BadRequest`` with one violation per (field, why)."""
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=field, description=why) for field, why in violations
        ]
    )
    status = status_pb2.Status(code=code.value[0], message=message)
    status.details.add().Pack(bad_request)
    return rpc_status.to_status(status)


def plain_status(code: grpc.StatusCode, message: str) -> grpc.Status:
    """A status with a message and no details."""
    return rpc_status.to_status(status_pb2.Status(code=code.value[0], message=message))


def retry_status(code: grpc.StatusCode, message: str, retry_delay_s: float) -> grpc.Status:
    """A status with a ``google.rpc.RetryInfo`` saying how long to wait before trying again."""
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.FromNanoseconds(max(0, round(retry_delay_s * 1e9)))
    status = status_pb2.Status(code=code.value[0], message=message)
    status.details.add().Pack(retry)
    return rpc_status.to_status(status)


def retry_delay_s(error: grpc.aio.AioRpcError | grpc.RpcError) -> float | None:
    """The RetryInfo delay a failed call carried, in seconds; None when it carried none."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            return float(retry.retry_delay.ToNanoseconds()) / 1e9
    return None


def to_status(error: CartAdsError) -> grpc.Status:
    """The gRPC status a caller sees for ``error``, with field violations when there are any."""
    if isinstance(error, ResourceExhaustedError) and error.retry_delay_s > 0 and not error.violations:
        return retry_status(error.code, error.message, error.retry_delay_s)
    if error.violations:
        return field_violation_status(error.code, error.message, error.violations)
    return plain_status(error.code, error.message)


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], error: CartAdsError) -> NoReturn:
    """End the call with ``error``'s status (raises, like ``context.abort``)."""
    status = to_status(error)
    await context.abort(status.code, status.details, status.trailing_metadata)


S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")
Ctx = grpc.aio.ServicerContext[Any, Any]


def maps_errors(fn: Callable[[S, Req, Ctx], Awaitable[Resp]]) -> Callable[[S, Req, Ctx], Awaitable[Resp]]:
    """Wrap a unary or client-streaming handler so a CartAdsError aborts the call with its status."""

    @functools.wraps(fn)
    async def wrapper(self: S, request: Req, context: Ctx) -> Resp:
        try:
            return await fn(self, request, context)
        except CartAdsError as error:
            await abort_with(context, error)

    return wrapper


def field_violations(error: grpc.aio.AioRpcError | grpc.RpcError) -> list[tuple[str, str]]:
    """The (field, description) pairs a failed call carried, for clients and tests."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return []
    out: list[tuple[str, str]] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            out.extend((v.field, v.description) for v in bad_request.field_violations)
    return out
