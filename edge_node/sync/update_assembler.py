"""Turns the messages of one index stream into whole updates to apply, or refusals to NACK. Pure.

A full snapshot arrives as chunks sharing a nonce; it is checked for size before anything is kept
(so an index too big for the LMDB map is refused up front) and for its sha256 before it is parsed.
A nonce seen before on the stream is stale (a replay) and refused without being applied.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from cartads.v1.index_pb2 import StoreIndex
from cartads.v1.index_sync_pb2 import IndexDelta, StreamIndexResponse


@dataclass(frozen=True)
class Ready:
    """A complete update: a snapshot or a delta announcing ``version``."""

    nonce: str
    version: str
    snapshot: StoreIndex | None = None
    delta: IndexDelta | None = None


@dataclass(frozen=True)
class Refused:
    """An update to NACK with ``error``; nothing of it is applied."""

    nonce: str
    version: str
    error: str


Step = Ready | Refused


@dataclass
class _Partial:
    nonce: str
    version: str
    chunk_count: int
    total_bytes: int
    sha256: str
    parts: list[bytes] = field(default_factory=list)
    received_bytes: int = 0


class UpdateAssembler:
    """One per stream: feed it every response; it answers with the updates that are complete."""

    def __init__(self, max_index_bytes: int) -> None:
        self._max_index_bytes = max_index_bytes
        self._seen_nonces: set[str] = set()
        self._partial: _Partial | None = None
        # Remaining chunks of an update already refused are dropped without a second NACK.
        self._dropping_nonce = ""

    @property
    def assembling(self) -> bool:
        """True while a chunked snapshot is incomplete."""
        return self._partial is not None

    def feed(self, response: StreamIndexResponse) -> list[Step]:
        """The steps ``response`` completes, in order (a cut-off earlier update is refused first)."""
        nonce = response.nonce
        partial = self._partial
        if partial is not None and partial.nonce == nonce:
            return self._continue(partial, response)
        if nonce and nonce == self._dropping_nonce:
            return []
        steps: list[Step] = []
        if partial is not None:
            self._partial = None
            steps.append(
                Refused(
                    partial.nonce,
                    partial.version,
                    f"truncated chunk stream: got {len(partial.parts)} of {partial.chunk_count} chunks",
                )
            )
        steps.extend(self._start(response))
        return steps

    def _refuse(self, response: StreamIndexResponse, error: str) -> list[Step]:
        self._partial = None
        self._dropping_nonce = response.nonce
        return [Refused(response.nonce, response.version, error)]

    def _start(self, response: StreamIndexResponse) -> list[Step]:
        nonce, version = response.nonce, response.version
        if not nonce:
            return [Refused(nonce, version, "update carries no nonce")]
        if nonce in self._seen_nonces:
            return self._refuse(response, f"stale nonce {nonce}: that update was already answered")
        self._seen_nonces.add(nonce)
        kind = response.WhichOneof("update")
        if kind == "snapshot":
            if response.snapshot.ByteSize() > self._max_index_bytes:
                return self._refuse(response, self._too_big(response.snapshot.ByteSize()))
            return [Ready(nonce, version, snapshot=response.snapshot)]
        if kind == "delta":
            return [Ready(nonce, version, delta=response.delta)]
        if kind != "chunk":
            return [Refused(nonce, version, "update carries no snapshot, delta or chunk")]
        chunk = response.chunk
        if chunk.chunk_index != 0:
            return self._refuse(response, f"truncated chunk stream: first chunk is {chunk.chunk_index}, not 0")
        if chunk.chunk_count < 1 or chunk.total_bytes < 0 or not chunk.sha256:
            return self._refuse(response, "chunk header needs chunk_count >= 1, total_bytes >= 0 and sha256")
        if chunk.total_bytes > self._max_index_bytes:
            return self._refuse(response, self._too_big(chunk.total_bytes))
        self._partial = _Partial(nonce, version, chunk.chunk_count, chunk.total_bytes, chunk.sha256)
        return self._continue(self._partial, response)

    def _too_big(self, size: int) -> str:
        return f"snapshot of {size} bytes is too big for the map (cap {self._max_index_bytes} bytes)"

    def _continue(self, partial: _Partial, response: StreamIndexResponse) -> list[Step]:
        if response.WhichOneof("update") != "chunk":
            return self._refuse(response, "truncated chunk stream: a chunked update continued without a chunk")
        chunk = response.chunk
        expected = len(partial.parts)
        if chunk.chunk_index != expected:
            return self._refuse(response, f"truncated chunk stream: expected chunk {expected}, got {chunk.chunk_index}")
        header = (chunk.chunk_count, chunk.total_bytes, chunk.sha256, response.version)
        if header != (partial.chunk_count, partial.total_bytes, partial.sha256, partial.version):
            return self._refuse(response, f"chunk {chunk.chunk_index} disagrees with the first chunk's header")
        partial.received_bytes += len(chunk.data)
        if partial.received_bytes > partial.total_bytes:
            return self._refuse(response, f"chunks exceed the announced {partial.total_bytes} bytes")
        partial.parts.append(chunk.data)
        if len(partial.parts) < partial.chunk_count:
            return []
        self._partial = None
        return [self._finish(partial, response)]

    def _finish(self, partial: _Partial, response: StreamIndexResponse) -> Step:
        raw = b"".join(partial.parts)
        if len(raw) != partial.total_bytes:
            self._dropping_nonce = response.nonce
            return Refused(partial.nonce, partial.version, f"got {len(raw)} bytes, announced {partial.total_bytes}")
        digest = hashlib.sha256(raw).hexdigest()
        if digest != partial.sha256:
            return Refused(
                partial.nonce, partial.version, f"checksum mismatch: sha256 {digest}, announced {partial.sha256}"
            )
        snapshot = StoreIndex()
        try:
            snapshot.ParseFromString(raw)
        except DecodeError:
            return Refused(partial.nonce, partial.version, "snapshot does not parse")
        return Ready(partial.nonce, partial.version, snapshot=snapshot)
