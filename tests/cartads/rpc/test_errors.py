"""Field violations travel in google.rpc.BadRequest details."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2, status_pb2

from cartads.rpc.errors import field_violation_status


def test_status_carries_each_violation() -> None:
    """Every (field, description) pair ends up in the status details."""
    status = field_violation_status(grpc.StatusCode.INVALID_ARGUMENT, "bad", [("a.b", "required"), ("c", "> 0")])
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    metadata = dict(status.trailing_metadata)
    proto = status_pb2.Status.FromString(metadata["grpc-status-details-bin"])
    bad_request = error_details_pb2.BadRequest()
    proto.details[0].Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [("a.b", "required"), ("c", "> 0")]
