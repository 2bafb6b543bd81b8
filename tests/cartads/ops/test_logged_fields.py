"""The request log's fields per request type are the logged names the message actually has."""

from __future__ import annotations

from cartads.rpc.runtime import _logged_fields
from cartads.v1.ad_service_pb2 import GetAdsRequest


def test_message_type_lists_only_its_own_fields() -> None:
    """GetAdsRequest has no edge_id, so the log never asks it for one."""
    assert _logged_fields(GetAdsRequest) == ("request_id", "store_id", "cart_id", "session_id")


def test_plain_objects_are_not_described() -> None:
    """A request that is not a protobuf message gets no field list (the log falls back to every name)."""
    assert _logged_fields(dict) is None
