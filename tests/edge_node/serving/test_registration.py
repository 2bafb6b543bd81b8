"""AdService registered so that GetAds answers written bytes; every other RPC as generated."""

from __future__ import annotations

from typing import Any

from cartads.v1 import ad_service_pb2
from cartads.v1.ad_service_pb2 import GetAdsResponse
from edge_node.serving.registration import add_ad_service, serialize_get_ads
from edge_node.serving.servicer import AdServicer


def test_serializer_passes_bytes_through_and_serializes_messages() -> None:
    """GetAds' response serializer accepts the written bytes and plain messages alike."""
    message = GetAdsResponse(request_id="r")
    assert serialize_get_ads(b"\x22\x01r") == b"\x22\x01r"
    assert serialize_get_ads(message) == message.SerializeToString()


class _Server:
    """Records what add_ad_service registers."""

    def __init__(self) -> None:
        self.handlers: dict[str, Any] = {}

    def add_generic_rpc_handlers(self, handlers: object) -> None:
        """Not inspected."""

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        self.handlers = {f"{service}/{name}": h for name, h in handlers.items()}


def test_every_ad_service_method_is_registered_and_get_ads_takes_bytes() -> None:
    """add_ad_service serves every AdService RPC; only GetAds' serializer accepts written bytes."""
    server = _Server()
    add_ad_service(object.__new__(AdServicer), server)
    service = ad_service_pb2.DESCRIPTOR.services_by_name["AdService"]
    assert set(server.handlers) == {f"{service.full_name}/{m.name}" for m in service.methods}
    get_ads = server.handlers[f"{service.full_name}/GetAds"]
    assert get_ads.response_serializer(b"\x22\x01r") == b"\x22\x01r"
