"""IndexStream's bookkeeping with in-memory fakes: answers are never lost, NACKed deltas fall back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from cartads.v1 import index_pb2, index_sync_pb2
from cloud_core.sync.index_cache import IndexCache
from cloud_core.sync.notifier import InProcessNotifier
from cloud_core.sync.stream import IndexStream, StreamSettings
from cloud_core.sync.stream_state import IndexStreamState
from tests.cloud_core.sync.index_fakes import MemoryVersions
from tests.edge_node.helpers import line_item, make_index, product

STORE = "store-1"


class FakeStatus:
    """Records what the stream reports about the edge."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, str]] = []
        # Set once an answer is recorded, so a test knows the stream has handled it.
        self.answered = asyncio.Event()

    async def edge_connected(self, store_id: str, edge_id: str, version: str, now_us: int) -> None:
        pass

    async def edge_disconnected(self, store_id: str, edge_id: str, now_us: int) -> None:
        pass

    async def disconnect_all_edges(self) -> None:
        pass

    async def edge_update_sent(self, store_id: str, edge_id: str, version: str, nonce: str, now_us: int) -> None:
        pass

    async def edge_answered(
        self, store_id: str, edge_id: str, *, version: str, nonce: str, error: str, refused_version: str, now_us: int
    ) -> None:
        self.answers.append((version, error))
        self.answered.set()

    async def list_edges(self, store_id: str, page: object) -> list[object]:
        return []


class Harness:
    """A stream over a controllable compiler and an in-memory request queue."""

    def __init__(self, versions: list[index_pb2.StoreIndex]) -> None:
        self.versions = versions
        self.current = 0
        self.compile_gate = asyncio.Event()
        self.compile_gate.set()
        # Set when a compile starts (and waits at the gate).
        self.compiling = asyncio.Event()
        self.notifier = InProcessNotifier()
        self.requests: asyncio.Queue[index_sync_pb2.StreamIndexRequest | None] = asyncio.Queue()
        self.status = FakeStatus()
        self.stored = MemoryVersions()
        self.cache = IndexCache(
            self._compile, self.notifier.generation, self.stored, cache_bytes=64 << 20, chunk_bytes=1 << 20
        )

    async def _compile(self, store_id: str, max_age_s: float) -> str:
        self.compiling.set()
        await self.compile_gate.wait()
        return self.stored.keep(store_id, self.versions[self.current]).version

    async def _requests(self) -> AsyncIterator[index_sync_pb2.StreamIndexRequest]:
        # task_done() once the stream takes a request: ``requests.join()`` returns when it has read them all.
        while True:
            request = await self.requests.get()
            self.requests.task_done()
            if request is None:
                return
            yield request

    def stream(self) -> AsyncGenerator[index_sync_pb2.StreamIndexResponse]:
        state = IndexStreamState()
        state.on_hello(STORE, "e1", "")
        state.on_subscribed(now_us=0)
        return IndexStream(
            state=state,
            requests=self._requests(),
            cache=self.cache,
            subscription=self.notifier.subscribe(STORE),
            status=self.status,  # type: ignore[arg-type]
            settings=StreamSettings(push_delay_s=0.0, refresh_s=60.0),
        ).updates()

    def change(self) -> None:
        self.current += 1
        self.notifier.notify([STORE])


# A catalog large enough that a one-line-item delta is much smaller than the snapshot.
CATALOG = [product(f"p{i:03d}") for i in range(50)]
V = [make_index([line_item("li", 1_000 + k)], {"all": ["li"]}, products=CATALOG) for k in range(3)]


def ack(update: index_sync_pb2.StreamIndexResponse) -> index_sync_pb2.StreamIndexRequest:
    return index_sync_pb2.StreamIndexRequest(version=update.version, response_nonce=update.nonce)


async def test_ack_arriving_during_a_compile_is_not_lost() -> None:
    """An ACK that lands while the stream recompiles after a change is still handled, and the next push follows."""
    harness = Harness(V)
    updates = harness.stream()
    first = await anext(updates)
    harness.compile_gate.clear()
    harness.compiling.clear()
    harness.change()
    next_update = asyncio.create_task(anext(updates))
    await harness.compiling.wait()
    harness.requests.put_nowait(ack(first))
    await harness.requests.join()  # the stream has read the ACK while its compile waits at the gate
    harness.compile_gate.set()
    second = await asyncio.wait_for(next_update, 2.0)
    assert harness.status.answers == [(V[0].version, "")]
    assert second.version == V[1].version
    await updates.aclose()


async def test_nacked_delta_is_resent_as_full_snapshot() -> None:
    """After a NACK of a delta the same version comes again as chunks of a full snapshot."""
    harness = Harness(V)
    updates = harness.stream()
    first = await anext(updates)
    harness.requests.put_nowait(ack(first))
    harness.change()
    delta = await asyncio.wait_for(anext(updates), 2.0)
    assert delta.HasField("delta")
    harness.requests.put_nowait(
        index_sync_pb2.StreamIndexRequest(version=V[0].version, response_nonce=delta.nonce, error_detail="bad")
    )
    again = await asyncio.wait_for(anext(updates), 2.0)
    assert again.HasField("chunk")
    assert again.version == delta.version
    await updates.aclose()


async def test_nacked_full_snapshot_is_not_resent() -> None:
    """A NACKed full snapshot is not pushed again until the index changes."""
    harness = Harness(V)
    updates = harness.stream()
    first = await anext(updates)
    harness.requests.put_nowait(
        index_sync_pb2.StreamIndexRequest(version="", response_nonce=first.nonce, error_detail="too big")
    )
    pending = asyncio.create_task(anext(updates))
    await harness.status.answered.wait()
    assert not pending.done()
    # Had the NACK led to a resend, that resend would come before the update to the change made now.
    harness.change()
    update = await asyncio.wait_for(pending, 2.0)
    assert update.version == V[1].version
    await updates.aclose()
