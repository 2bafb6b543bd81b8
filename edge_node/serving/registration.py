"""AdService registered with a gRPC server so that GetAds may answer bytes already serialized.

The servicer answers GetAds with the bytes ``response_wire`` writes; the generated registration
would serialize a message, so GetAds' response serializer is swapped for one that passes bytes
through (and still serializes a message, for the floor and any answer built field by field).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

from cartads.v1 import ad_service_pb2_grpc
from cartads.v1.ad_service_pb2 import GetAdsResponse


def serialize_get_ads(response: GetAdsResponse | bytes) -> bytes:
    """GetAds' response serializer: answers already serialized pass through as they are."""
    if type(response) is bytes:
        return response
    assert isinstance(response, GetAdsResponse)
    return response.SerializeToString()


class _Registrar:
    """Stands in for the server in the generated ``add_AdServiceServicer_to_server``."""

    def __init__(self) -> None:
        self.service = ""
        self.handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def add_generic_rpc_handlers(self, handlers: Sequence[object]) -> None:
        """Ignored: the same handlers arrive by name."""

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        self.service = service
        self.handlers.update(handlers)


def add_ad_service(servicer: Any, server: Any) -> None:
    """``add_AdServiceServicer_to_server`` (generated), except that GetAds may answer serialized bytes.

    The generated function builds the handlers (so RPCs added to the service later are served
    too); only GetAds' response serializer is swapped. The floor of ``cartads-bench edge``
    registers through this as well, so both serve the same way.
    """
    registrar = _Registrar()
    ad_service_pb2_grpc.add_AdServiceServicer_to_server(servicer, registrar)  # type: ignore[arg-type]
    handlers = dict(registrar.handlers)
    get_ads = handlers["GetAds"]
    assert get_ads.unary_unary is not None
    handlers["GetAds"] = grpc.unary_unary_rpc_method_handler(
        get_ads.unary_unary, request_deserializer=get_ads.request_deserializer, response_serializer=serialize_get_ads
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(registrar.service, handlers),))
    server.add_registered_method_handlers(registrar.service, handlers)
