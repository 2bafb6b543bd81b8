"""gRPC error statuses with ``google.rpc`` details, so clients see which field was wrong."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status


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


__all__ = ["field_violation_status", "field_violations", "plain_status"]
