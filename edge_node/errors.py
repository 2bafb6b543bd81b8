"""The edge node's exceptions, and the one place that maps them to gRPC statuses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

import grpc

from cartads.rpc.status import field_violation_status, plain_status


class EdgeError(Exception):
    """Base of every error the edge reports to a caller."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, violations: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.violations = list(violations)


class InvalidArgumentError(EdgeError):
    """The request is malformed; ``violations`` name the offending fields."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: Sequence[tuple[str, str]], message: str = "") -> None:
        text = message or "; ".join(f"{field}: {why}" for field, why in violations) or "invalid argument"
        super().__init__(text, violations)


class NotFoundError(EdgeError):
    """The request names something this edge does not have (e.g. another store)."""

    code = grpc.StatusCode.NOT_FOUND

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message, [(field, message)] if field else [])


class UnavailableError(EdgeError):
    """The edge cannot answer now (e.g. it is shutting down); the caller may retry."""

    code = grpc.StatusCode.UNAVAILABLE


class IndexRejectedError(EdgeError):
    """An index update failed verification; it is NACKed and never served."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class StoreClosedError(UnavailableError):
    """An LMDB environment was used after it was closed."""


class JournalFullError(EdgeError):
    """The journal holds as many unsent events as it may; the cart keeps them and retries later."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


def to_status(error: EdgeError) -> grpc.Status:
    """The gRPC status a caller sees for ``error``, with field violations when there are any."""
    if error.violations:
        return field_violation_status(error.code, error.message, error.violations)
    return plain_status(error.code, error.message)


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], error: EdgeError) -> NoReturn:
    """End the call with ``error``'s status (raises, like ``context.abort``)."""
    status = to_status(error)
    await context.abort(status.code, status.details, status.trailing_metadata)
