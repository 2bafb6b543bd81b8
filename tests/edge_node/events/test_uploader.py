"""The uploader against a fake cloud: watermark deletes, retries, batching, restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest

from cartads.v1.common_pb2 import CartEvent, EventType
from edge_node.config import EdgeConfig
from edge_node.events.journal import Journal
from edge_node.events.uploader import Uploader
from tests.edge_node.helpers import FakeCloud


def events(*ids: str) -> list[CartEvent]:
    return [CartEvent(event_id=i, type=EventType.EVENT_TYPE_CHECKOUT, cart_id="c") for i in ids]


@pytest.fixture
async def journal(config: EdgeConfig) -> AsyncIterator[Journal]:
    """The edge's journal, closed after the test."""
    j = Journal.open(config)
    yield j
    j.close()


@pytest.fixture
async def cloud_channel(config: EdgeConfig) -> AsyncIterator[grpc.aio.Channel]:
    """A plaintext channel to the fake cloud, as the uploader uses."""
    ch = grpc.aio.insecure_channel(config.cloud_address)
    yield ch
    await ch.close(None)


@contextlib.asynccontextmanager
async def running(uploader: Uploader) -> AsyncIterator[None]:
    task = asyncio.create_task(uploader.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_deletes_only_acknowledged_events(
    fake_cloud: tuple[FakeCloud, int], config: EdgeConfig, journal: Journal, cloud_channel: grpc.aio.Channel
) -> None:
    """When the cloud acknowledges part of a batch, only that part leaves the journal."""
    fake, _ = fake_cloud
    fake.acknowledge = lambda request: request.events[0].seq + 1
    journal.append(events("e1", "e2", "e3", "e4"), 0)
    uploader = Uploader(cloud_channel, config, journal)
    assert await uploader.upload_once() == 2
    assert [j.event.event_id for j in journal.read_batch(10)] == ["e3", "e4"]
    assert set(fake.events) == {"e1", "e2"}


async def test_retries_until_cloud_accepts(
    fake_cloud: tuple[FakeCloud, int], config: EdgeConfig, journal: Journal, cloud_channel: grpc.aio.Channel
) -> None:
    """Failed uploads keep every event and are retried until the cloud acknowledges them."""
    fake, _ = fake_cloud
    fake.fail_next_uploads = 2
    journal.append(events("e1", "e2"), 0)
    uploader = Uploader(cloud_channel, config, journal)
    async with running(uploader):
        await fake.wait_for_events(2)
        await uploader.wait_until_empty(5.0)
    assert len(fake.uploads) == 3
    assert uploader.failures == 2
    assert journal.depth() == 0


async def test_failed_upload_deletes_nothing(
    fake_cloud: tuple[FakeCloud, int], config: EdgeConfig, journal: Journal, cloud_channel: grpc.aio.Channel
) -> None:
    """An upload the cloud refuses leaves the journal as it was."""
    fake, _ = fake_cloud
    fake.fail_next_uploads = 1
    journal.append(events("e1"), 0)
    uploader = Uploader(cloud_channel, config, journal)
    with pytest.raises(grpc.aio.AioRpcError):
        await uploader.upload_once()
    assert journal.depth() == 1


async def test_batches_are_bounded_and_in_seq_order(
    fake_cloud: tuple[FakeCloud, int], config: EdgeConfig, journal: Journal, cloud_channel: grpc.aio.Channel
) -> None:
    """Events go up in batches of at most upload_batch_max_events, in increasing seq order."""
    fake, _ = fake_cloud
    journal.append(events(*(f"e{i}" for i in range(5))), 0)
    small = EdgeConfig(**{**config.__dict__, "upload_batch_max_events": 2})
    uploader = Uploader(cloud_channel, small, journal)
    while await uploader.upload_once():
        pass
    assert [[j.seq for j in u.events] for u in fake.uploads] == [[1, 2], [3, 4], [5]]
    assert all(u.store_id == config.store_id and u.edge_id == config.edge_id for u in fake.uploads)


async def test_new_events_wake_the_uploader(
    fake_cloud: tuple[FakeCloud, int], config: EdgeConfig, journal: Journal, cloud_channel: grpc.aio.Channel
) -> None:
    """An idle uploader sends soon after notify, without waiting a long poll interval."""
    fake, _ = fake_cloud
    slow_poll = EdgeConfig(**{**config.__dict__, "upload_interval_s": 60.0})
    uploader = Uploader(cloud_channel, slow_poll, journal)
    async with running(uploader):
        await asyncio.wait_for(uploader.idle.wait(), 5.0)
        journal.append(events("e1"), 0)
        uploader.notify()
        await fake.wait_for_events(1, timeout_s=5.0)


async def test_a_backlog_goes_up_in_growing_batches_in_seq_order(
    fake_cloud: tuple[FakeCloud, int], config: EdgeConfig, journal: Journal, cloud_channel: grpc.aio.Channel
) -> None:
    """3,500 journaled events on a quick link: batches of 500, 1,000 and 2,000, in seq order, one at a time."""
    fake, _ = fake_cloud
    journal.append(events(*(f"e{i}" for i in range(3500))), 0)
    uploader = Uploader(cloud_channel, config, journal)
    while await uploader.upload_once():
        pass
    assert [len(u.events) for u in fake.uploads] == [500, 1000, 2000]
    seqs = [j.seq for u in fake.uploads for j in u.events]
    assert seqs == list(range(1, 3501))
