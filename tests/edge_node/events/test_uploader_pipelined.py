"""Several upload batches in flight: the link stays busy, and the journal is acknowledged only
through the answered batches at its start, so a failed batch never loses its events."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from cartads.v1 import event_ingest_pb2_grpc
from cartads.v1.common_pb2 import CartEvent, EventType
from cartads.v1.event_ingest_pb2 import UploadEventsRequest, UploadEventsResponse
from edge_node.config import EdgeConfig
from edge_node.events.journal import Journal
from edge_node.events.uploader import Uploader
from tests.edge_node.helpers import FakeCloud


def events(count: int) -> list[CartEvent]:
    return [CartEvent(event_id=f"e{i}", type=EventType.EVENT_TYPE_CHECKOUT, cart_id="c") for i in range(count)]


class GatedCloud(FakeCloud):
    """Holds each upload until ``gate`` uploads are in progress together (or 2 s pass); counts the most
    seen at once, and fails the first upload of the batch starting at ``fail_first_seq``, once."""

    def __init__(self, gate: int, fail_first_seq: int = 0) -> None:
        super().__init__()
        self.gate = gate
        self.fail_first_seq = fail_first_seq
        self.in_progress = 0
        self.peers: set[str] = set()
        self.most_at_once = 0
        self._all_in = asyncio.Event()

    async def UploadEvents(self, request: UploadEventsRequest, context: Any) -> UploadEventsResponse:  # noqa: N802
        self.peers.add(context.peer())
        self.in_progress += 1
        self.most_at_once = max(self.most_at_once, self.in_progress)
        if self.in_progress >= self.gate:
            self._all_in.set()
        try:
            await asyncio.wait_for(self._all_in.wait(), timeout=2.0)
        except TimeoutError:
            pass
        finally:
            self.in_progress -= 1
        if request.events[0].seq == self.fail_first_seq:
            self.fail_first_seq = 0
            self.uploads.append(request)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "this batch was lost")
        return await super().UploadEvents(request, context)


@pytest.fixture
async def journal(config: EdgeConfig) -> AsyncIterator[Journal]:
    """The edge's journal, closed after the test."""
    j = Journal.open(config)
    yield j
    j.close()


async def serve(cloud: FakeCloud) -> tuple[grpc.aio.Server, grpc.aio.Channel, str]:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    event_ingest_pb2_grpc.add_EventIngestServiceServicer_to_server(cloud, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, grpc.aio.insecure_channel(f"127.0.0.1:{port}"), f"127.0.0.1:{port}"


def pipelined(config: EdgeConfig) -> EdgeConfig:
    return dataclasses.replace(config, upload_batch_max_events=2, upload_in_flight=4)


async def test_four_batches_are_in_flight_at_once(config: EdgeConfig, journal: Journal) -> None:
    """With upload_in_flight 4, four batches reach the cloud together, and all 10 events arrive once."""
    cloud = GatedCloud(gate=4)
    server, channel, _ = await serve(cloud)
    journal.append(events(10), 0)
    try:
        assert await Uploader(channel, pipelined(config), journal).upload_pipelined() == 10
    finally:
        await channel.close(None)
        await server.stop(None)
    assert cloud.most_at_once == 4
    assert sorted(cloud.events) == sorted(e.event_id for e in events(10))
    assert journal.depth() == 0


async def test_a_failed_batch_keeps_its_events_though_later_ones_were_answered(
    config: EdgeConfig, journal: Journal
) -> None:
    """Batch 2 of 4 fails while 3 and 4 succeed: only batch 1 leaves the journal; the next round
    delivers the rest, each event acknowledged once."""
    cloud = GatedCloud(gate=4, fail_first_seq=3)
    server, channel, _ = await serve(cloud)
    journal.append(events(8), 0)
    uploader = Uploader(channel, pipelined(config), journal)
    try:
        with pytest.raises(grpc.aio.AioRpcError):
            await uploader.upload_pipelined()
        assert [j.seq for j in journal.read_batch(10)] == [3, 4, 5, 6, 7, 8]
        assert await uploader.upload_pipelined() == 6
    finally:
        await channel.close(None)
        await server.stop(None)
    assert journal.depth() == 0
    assert sorted(cloud.events) == sorted(e.event_id for e in events(8))


async def test_read_batch_after_a_seq_skips_what_is_in_flight(journal: Journal) -> None:
    """read_batch(n, after_seq) starts above after_seq; past the end it is empty."""
    journal.append(events(5), 0)
    assert [j.seq for j in journal.read_batch(2, 2)] == [3, 4]
    assert journal.read_batch(2, 5) == []


async def test_a_connected_lane_carries_a_batch_on_a_connection_of_its_own(
    config: EdgeConfig, journal: Journal
) -> None:
    """With one lane (its own connection, up), two batches in flight arrive from two client ports."""
    cloud = GatedCloud(gate=2)
    server, channel, address = await serve(cloud)
    lane = grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
    journal.append(events(4), 0)
    try:
        await asyncio.wait_for(lane.channel_ready(), timeout=10)
        config = dataclasses.replace(pipelined(config), upload_in_flight=2)
        assert await Uploader(channel, config, journal, lanes=[lane]).upload_pipelined() == 4
    finally:
        await lane.close(None)
        await channel.close(None)
        await server.stop(None)
    assert len(cloud.peers) == 2
