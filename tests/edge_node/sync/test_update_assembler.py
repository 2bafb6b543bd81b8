"""Reassembling chunked snapshots and refusing bad update streams, before anything is applied."""

from __future__ import annotations

import hashlib

from cartads.v1.index_sync_pb2 import IndexDelta, SnapshotChunk, StreamIndexResponse
from edge_node.sync.update_assembler import Ready, Refused, UpdateAssembler
from tests.edge_node.helpers import line_item, make_index


def chunked(
    raw: bytes, nonce: str, size: int, version: str = "v1", sha: str | None = None
) -> list[StreamIndexResponse]:
    pieces = [raw[i : i + size] for i in range(0, len(raw), size)]
    digest = sha or hashlib.sha256(raw).hexdigest()
    return [
        StreamIndexResponse(
            version=version,
            nonce=nonce,
            chunk=SnapshotChunk(chunk_index=i, chunk_count=len(pieces), total_bytes=len(raw), sha256=digest, data=p),
        )
        for i, p in enumerate(pieces)
    ]


RAW = make_index([line_item("a"), line_item("b")], {"all": ["a", "b"]}).SerializeToString()


def feed_all(assembler: UpdateAssembler, responses: list[StreamIndexResponse]) -> list[Ready | Refused]:
    return [step for r in responses for step in assembler.feed(r)]


def test_chunks_reassemble_into_the_snapshot() -> None:
    """Chunks of one nonce give one Ready snapshot only after the last chunk."""
    steps = feed_all(UpdateAssembler(1 << 20), chunked(RAW, "n1", 40))
    assert len(steps) == 1
    assert isinstance(steps[0], Ready)
    assert steps[0].snapshot is not None
    assert [li.line_item_id for li in steps[0].snapshot.line_items] == ["a", "b"]


def test_checksum_mismatch_is_refused() -> None:
    """A snapshot whose bytes do not hash to the announced sha256 is refused."""
    steps = feed_all(UpdateAssembler(1 << 20), chunked(RAW, "n1", 40, sha="0" * 64))
    assert isinstance(steps[0], Refused)
    assert "checksum mismatch" in steps[0].error


def test_new_nonce_mid_stream_refuses_the_cut_update() -> None:
    """When a new update starts before the last chunk, the cut one is refused and the new one still applies."""
    first = chunked(RAW, "n1", 40)
    steps = feed_all(UpdateAssembler(1 << 20), [first[0], *chunked(RAW, "n2", 1000)])
    assert isinstance(steps[0], Refused)
    assert steps[0].nonce == "n1"
    assert "truncated chunk stream" in steps[0].error
    assert isinstance(steps[1], Ready)
    assert steps[1].nonce == "n2"


def test_missing_chunk_is_refused_once() -> None:
    """A skipped chunk refuses the update, and its later chunks are dropped without another refusal."""
    parts = chunked(RAW, "n1", 20)
    steps = feed_all(UpdateAssembler(1 << 20), [parts[0], parts[2], *parts[3:]])
    assert len(steps) == 1
    assert isinstance(steps[0], Refused)
    assert "expected chunk 1, got 2" in steps[0].error


def test_too_big_is_refused_at_the_first_chunk() -> None:
    """A snapshot announced bigger than the cap is refused before any chunk is kept."""
    assembler = UpdateAssembler(max_index_bytes=50)
    parts = chunked(RAW, "n1", 40)
    first = assembler.feed(parts[0])
    assert isinstance(first[0], Refused)
    assert "too big for the map" in first[0].error
    assert not assembler.assembling
    assert feed_all(assembler, parts[1:]) == []


def test_stale_nonce_is_refused() -> None:
    """An update reusing a nonce already answered on the stream is refused as stale."""
    assembler = UpdateAssembler(1 << 20)
    feed_all(assembler, chunked(RAW, "n1", 1000))
    steps = feed_all(assembler, chunked(RAW, "n1", 1000, version="v2"))
    assert isinstance(steps[0], Refused)
    assert "stale nonce" in steps[0].error


def test_delta_is_ready_at_once() -> None:
    """A delta is a whole update in one message."""
    steps = UpdateAssembler(1 << 20).feed(StreamIndexResponse(version="v2", nonce="n1", delta=IndexDelta()))
    assert isinstance(steps[0], Ready)
    assert steps[0].delta is not None


def test_update_without_payload_is_refused() -> None:
    """A message with a nonce but no snapshot, delta or chunk is refused."""
    steps = UpdateAssembler(1 << 20).feed(StreamIndexResponse(version="v2", nonce="n1"))
    assert isinstance(steps[0], Refused)
