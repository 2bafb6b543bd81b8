"""The edge's batched JSON request log."""

from __future__ import annotations

import io
import json

from cartads.v1.ad_service_pb2 import GetAdsRequest
from edge_node.serving.access_log import BatchedJsonLog


def test_line_is_json_with_event_level_and_timestamp() -> None:
    """Outside an event loop a line is written at once: one JSON object with event, level and timestamp."""
    stream = io.StringIO()
    log = BatchedJsonLog(stream, clock=lambda: 1_700_000_000.25, enabled=True)
    log.info("rpc", code="OK", cart_id="c-1")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0] == {
        "event": "rpc",
        "level": "info",
        "code": "OK",
        "cart_id": "c-1",
        "timestamp": "2023-11-14T22:13:20.250000Z",
    }


async def test_full_buffer_is_written_at_once() -> None:
    """Inside the event loop a line waits for the timer, but a full buffer is written immediately."""
    stream = io.StringIO()
    log = BatchedJsonLog(stream, max_buffered_lines=3, flush_interval_s=60, enabled=True)
    log.info("rpc", n=1)
    log.info("rpc", n=2)
    assert stream.getvalue() == ""
    log.info("rpc", n=3)
    assert [json.loads(line)["n"] for line in stream.getvalue().splitlines()] == [1, 2, 3]
    log.info("rpc", n=4)
    log.flush()
    assert json.loads(stream.getvalue().splitlines()[-1])["n"] == 4


def test_rpc_line_equals_the_info_line() -> None:
    """The request log's fast line is byte for byte the line info() writes for the same fields."""
    request = GetAdsRequest(request_id='r-\u00e9"1', store_id="s-1", cart_id="c\\1", session_id="")
    names = ("request_id", "store_id", "cart_id", "session_id")
    fast, slow = io.StringIO(), io.StringIO()
    BatchedJsonLog(fast, clock=lambda: 1_700_000_000.25, enabled=True).rpc(
        "/cartads.v1.AdService/GetAds", "OK", 0.125, request, names
    )
    fields = {name: value for name in names if (value := getattr(request, name))}
    BatchedJsonLog(slow, clock=lambda: 1_700_000_000.25, enabled=True).info(
        "rpc", method="/cartads.v1.AdService/GetAds", code="OK", latency_ms=0.125, **fields
    )
    assert fast.getvalue() == slow.getvalue()
    line = json.loads(fast.getvalue())
    assert list(line) == [
        "method",
        "code",
        "latency_ms",
        "request_id",
        "store_id",
        "cart_id",
        "event",
        "level",
        "timestamp",
    ]
    assert line["request_id"] == 'r-\u00e9"1'
