"""The index stream's bounds on what an edge sends: its ids, versions, nonces and error details."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from cartads.v1 import index_sync_pb2_grpc
from cartads.v1.index_sync_pb2 import StreamIndexRequest
from cloud_core.sync.stream_state import IndexStreamState, RecordAnswer, Reject, StreamPhase, UpdateKind
from tests.cloud_core.helpers import STORE_ID, violations_of


def awaiting_answer() -> IndexStreamState:
    """A machine that pushed version v1 under nonce n1 and waits for the edge's answer."""
    state = IndexStreamState()
    state.on_hello("store-1", "edge-1", "")
    state.on_subscribed(now_us=1)
    state.on_version("v1")
    state.on_update_sent("v1", "n1", UpdateKind.FULL, now_us=2)
    return state


def test_a_hello_with_an_oversized_version_is_rejected() -> None:
    """A held version of more than 128 characters ends the stream naming the field."""
    decision = IndexStreamState().on_hello("store-1", "edge-1", "v" * 129)
    assert decision == Reject((("version", "is longer than 128 characters"),))


def test_a_hello_with_a_nul_in_its_edge_id_is_rejected() -> None:
    """An edge id that PostgreSQL cannot store ends the stream naming edge_id."""
    decision = IndexStreamState().on_hello("store-1", "edge\x001", "")
    assert decision == Reject((("edge_id", "must not contain NUL characters"),))


@pytest.mark.parametrize(
    ("version", "nonce", "error", "field"),
    [("v" * 129, "n1", "", "version"), ("v1", "n" * 65, "", "response_nonce"), ("", "n1", "e" * 4097, "error_detail")],
)
def test_an_answer_out_of_bounds_is_rejected(version: str, nonce: str, error: str, field: str) -> None:
    """Oversized answer fields end the stream (they would be stored in the edge's status)."""
    state = awaiting_answer()
    decision = state.on_answer(version, nonce, error, now_us=3)
    assert isinstance(decision, Reject)
    assert [f for f, _ in decision.violations] == [field]
    assert state.phase is StreamPhase.CLOSED


def test_an_answer_within_bounds_is_recorded() -> None:
    """A NACK with a detail of 4,096 characters is still an answer."""
    decision = awaiting_answer().on_answer("", "n1", "e" * 4096, now_us=3)
    assert isinstance(decision, RecordAnswer)


async def test_a_megabyte_edge_id_is_invalid_argument(edge_channel: grpc.aio.Channel) -> None:
    """A real cloud ends a stream whose hello carries a 1 MB edge_id with INVALID_ARGUMENT."""

    async def hello() -> AsyncIterator[StreamIndexRequest]:
        yield StreamIndexRequest(store_id=STORE_ID, edge_id="e" * 1_000_000)

    stub = index_sync_pb2_grpc.IndexSyncServiceStub(edge_channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for _ in stub.StreamIndex(hello()):
            pass
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations_of(raised.value) == {"edge_id": "is longer than 128 characters"}
