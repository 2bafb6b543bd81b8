"""Log volume stays bounded under hostile input: 10,000 GetAds calls with a 1 MB cart_id, through the
handler exactly as the edge registers it (request log included), write less than 1 MB of log."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, cast

import grpc

from cartads.rpc.runtime import add_logged_servicer
from cartads.v1.ad_service_pb2 import GetAdsRequest
from edge_node.config import EdgeConfig
from edge_node.events.journal import Journal
from edge_node.events.pipeline import EventPipeline
from edge_node.index.holder import ViewHolder
from edge_node.serving.access_log import BatchedJsonLog
from edge_node.serving.local_state import SessionFrequency
from edge_node.serving.registration import add_ad_service
from edge_node.serving.servicer import AdServicer

MEGABYTE = 1_000_000


class _Context:
    """What the handlers use of a grpc.aio ServicerContext: the status they end the call with."""

    def __init__(self) -> None:
        self.status: grpc.StatusCode | None = None

    def code(self) -> grpc.StatusCode | None:
        return self.status

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()) -> None:
        self.status = code
        raise grpc.aio.AbortError()


class _Capture:
    """Stands in for the server: keeps the handlers as the edge registers them."""

    def __init__(self) -> None:
        self.handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def add_generic_rpc_handlers(self, handlers: object) -> None:
        """Ignored: the same handlers arrive by name."""

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        self.handlers.update(handlers)


async def test_ten_thousand_megabyte_cart_ids_write_less_than_a_megabyte_of_log(tmp_path: Path) -> None:
    """Each refused call costs at most a clipped line, and refusals beyond 20/s only a count."""
    config = EdgeConfig(store_id="s1", edge_id="e1", cloud_address="127.0.0.1:9", data_dir=str(tmp_path))
    journal = Journal.open(config)
    servicer = AdServicer(
        config=config,
        holder=ViewHolder(),
        events=EventPipeline(config, journal),
        frequency=SessionFrequency(config.max_sessions),
        on_journaled=lambda: None,
    )
    written = io.StringIO()
    log = BatchedJsonLog(written, enabled=True)
    capture = _Capture()
    add_logged_servicer(cast("Any", capture), add_ad_service, servicer, cast("Any", log))
    get_ads = capture.handlers["GetAds"]
    assert get_ads.unary_unary is not None
    body = GetAdsRequest(store_id="s1", cart_id="c" * MEGABYTE).SerializeToString()
    parse = get_ads.request_deserializer
    refused = 0
    for _ in range(10_000):
        context = _Context()
        try:
            await get_ads.unary_unary(body if parse is None else parse(body), cast("Any", context))
        except grpc.aio.AbortError:
            refused += context.status == grpc.StatusCode.INVALID_ARGUMENT
    log.flush()
    journal.close()
    assert refused == 10_000
    assert 0 < len(written.getvalue().encode()) < MEGABYTE
