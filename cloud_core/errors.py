"""The cloud's exceptions, and the one place that maps them to gRPC statuses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

import grpc

from cartads.rpc.status import field_violation_status, plain_status


class CloudError(Exception):
    """Base of every error the cloud reports to a caller."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, violations: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.violations = list(violations)


class InvalidArgumentError(CloudError):
    """The request is malformed; ``violations`` name the offending fields."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: Sequence[tuple[str, str]], message: str = "") -> None:
        text = message or "; ".join(f"{field}: {why}" for field, why in violations) or "invalid argument"
        super().__init__(text, violations)


class NotFoundError(CloudError):
    """A named resource (or its parent) does not exist."""

    code = grpc.StatusCode.NOT_FOUND

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message, [(field, message)] if field else [])


class AlreadyExistsError(CloudError):
    """A client-given id is already taken."""

    code = grpc.StatusCode.ALREADY_EXISTS

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message, [(field, message)] if field else [])


class FailedPreconditionError(CloudError):
    """The request is valid but the current state forbids it (e.g. deleting a parent)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDeniedError(CloudError):
    """The caller's identity (e.g. its client certificate) does not allow this (e.g. another store)."""

    code = grpc.StatusCode.PERMISSION_DENIED

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message, [(field, message)] if field else [])


class UnauthenticatedError(CloudError):
    """The call carries no credentials, or ones the cloud does not accept (unknown or revoked token)."""

    code = grpc.StatusCode.UNAUTHENTICATED


def to_status(error: CloudError) -> grpc.Status:
    """The gRPC status a caller sees for ``error``, with field violations when there are any."""
    if error.violations:
        return field_violation_status(error.code, error.message, error.violations)
    return plain_status(error.code, error.message)


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], error: CloudError) -> NoReturn:
    """End the call with ``error``'s status (raises, like ``context.abort``)."""
    status = to_status(error)
    await context.abort(status.code, status.details, status.trailing_metadata)
