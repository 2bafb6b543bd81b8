"""The uploader: sends journaled events to the cloud in seq order and deletes only what it acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import grpc
import structlog

from cartads.v1.event_ingest_pb2 import JournaledEvent, UploadEventsRequest
from cartads.v1.event_ingest_pb2_grpc import EventIngestServiceStub
from edge_node.cloud_link.backoff import Backoff
from edge_node.cloud_link.refusals import CREDENTIAL_REFUSALS, log_call_failure
from edge_node.config import EdgeConfig
from edge_node.events.journal import Journal

if TYPE_CHECKING:
    from cartads.v1.event_ingest_pb2_grpc import EventIngestServiceAsyncStub

_log = structlog.get_logger("edge.uploader")
_REFUSALS = CREDENTIAL_REFUSALS | {grpc.StatusCode.INVALID_ARGUMENT}


class UploadRefusedError(Exception):
    """The cloud answered but acknowledged nothing of the batch."""


class Uploader:
    """Background task: batch, upload, delete through the acknowledged watermark, retry forever."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        config: EdgeConfig,
        journal: Journal,
        rng: random.Random | None = None,
        on_acknowledged: Callable[[], None] | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        lanes: Sequence[grpc.aio.Channel] = (),
    ) -> None:
        self._stub: EventIngestServiceAsyncStub = EventIngestServiceStub(channel)
        # Extra channels, each on a connection of its own, for batches in flight beyond the first;
        # a lane not connected yet is skipped (its batch shares the main channel's connection).
        self._lanes: list[tuple[grpc.aio.Channel, EventIngestServiceAsyncStub]] = [
            (lane, EventIngestServiceStub(lane)) for lane in lanes
        ]
        self._config = config
        self._journal = journal
        self._on_acknowledged = on_acknowledged
        self._backoff = Backoff(config.upload_backoff_initial_s, config.upload_backoff_max_s, rng)
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        # Set while the uploader has found the journal empty and waits for new events.
        self.idle = asyncio.Event()
        self.batches_sent = 0
        self.failures = 0

    def notify(self) -> None:
        """New events were journaled: upload without waiting for the poll interval."""
        self._wake.set()

    async def run(self) -> None:
        """Upload until cancelled. Idle, it waits for ``notify`` or polls every ``upload_interval_s``."""
        while True:
            # Clear before reading, so events journaled after the read still wake the wait below.
            self._wake.clear()
            try:
                sent = await self.upload_pipelined()
            except (grpc.aio.AioRpcError, UploadRefusedError) as exc:
                await self._after_failure(exc)
                continue
            except Exception as exc:
                # Never give up on billable events: log and retry like any other failure.
                _log.exception("upload error")
                await self._after_failure(exc)
                continue
            self._backoff.reset()
            if sent == 0:
                self.idle.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._config.upload_interval_s)
                self.idle.clear()
                # The time bound of a batch: a burst of ReportEvents calls goes up as one upload,
                # unless it already fills a batch.
                linger_s = self._config.upload_linger_s
                if linger_s > 0 and self._journal.depth() < self._config.upload_batch_max_events:
                    await asyncio.sleep(linger_s)

    async def upload_pipelined(self) -> int:
        """Upload until the journal is empty, up to ``upload_in_flight`` batches at once; returns how
        many events the cloud acknowledged. On a slow uplink one batch at a time leaves the link idle
        for a round trip per batch; several in flight keep it busy.

        The journal is acknowledged only through the longest run of answered batches from its start,
        so a failed batch is never deleted because a later one succeeded. After a failure the
        batches in flight finish, what they acknowledged in order is kept, and the failure is
        raised: the next round re-sends from the first unacknowledged event (the cloud counts any
        re-sent event as a duplicate, so billing stays exactly-once).
        """
        most = max(1, self._config.upload_in_flight)
        # Batches in seq order: (last seq, the task sending it, its lane: -1 for the main channel).
        in_flight: list[tuple[int, asyncio.Task[int], int]] = []
        read_after = 0
        acknowledged = 0
        failure: BaseException | None = None
        try:
            while True:
                while failure is None and len(in_flight) < most:
                    batch = await asyncio.to_thread(
                        self._journal.read_batch, self._config.upload_batch_max_events, read_after
                    )
                    if not batch:
                        break
                    read_after = batch[-1].seq
                    lane = self._free_lane({used for _, task, used in in_flight if not task.done()})
                    stub = self._lanes[lane][1] if lane >= 0 else self._stub
                    in_flight.append((batch[-1].seq, asyncio.create_task(self._send(batch, stub)), lane))
                if not in_flight:
                    return acknowledged
                sending = [task for _, task, _ in in_flight if not task.done()]
                if sending:
                    await asyncio.wait(sending, return_when=asyncio.FIRST_COMPLETED)
                watermark = 0
                while in_flight and in_flight[0][1].done():
                    task = in_flight[0][1]
                    if task.exception() is not None:
                        failure = failure or task.exception()
                        break
                    watermark = task.result()
                    in_flight.pop(0)
                for _, task, _ in in_flight:
                    if task.done() and task.exception() is not None:
                        failure = failure or task.exception()
                if watermark:
                    acknowledged += await self._acknowledge(watermark)
                if failure is not None and all(task.done() for _, task, _ in in_flight):
                    raise failure
        finally:
            tasks = [task for _, task, _ in in_flight]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
            for task in tasks:
                if not task.cancelled():
                    task.exception()  # retrieved: a batch that failed as the round ended is re-sent

    async def _after_failure(self, exc: Exception) -> None:
        self.failures += 1
        delay_s = self._backoff.next_delay_s()
        if isinstance(exc, grpc.aio.AioRpcError):
            # A refused credential, or a batch the cloud calls malformed (a broken edge), needs an operator.
            log_call_failure(_log, "upload failed, retrying", exc, refusals=_REFUSALS, retry_in_s=round(delay_s, 3))
        else:
            _log.info("upload failed, retrying", error=str(exc), retry_in_s=round(delay_s, 3))
        await self._sleep(delay_s)

    async def upload_once(self) -> int:
        """Send one batch; returns how many events the cloud acknowledged (0 when there was nothing)."""
        batch = await asyncio.to_thread(self._journal.read_batch, self._config.upload_batch_max_events)
        if not batch:
            return 0
        return await self._acknowledge(await self._send(batch))

    def _free_lane(self, busy: set[int]) -> int:
        """An idle connected lane, or -1 (the main channel). Asking a lane's state also makes it
        connect, so lanes come up on their own after a start or a heal."""
        for index, (lane, _) in enumerate(self._lanes):
            if index not in busy and lane.get_state(try_to_connect=True) is grpc.ChannelConnectivity.READY:
                return index
        return -1

    async def _send(self, batch: list[JournaledEvent], stub: EventIngestServiceAsyncStub | None = None) -> int:
        """Upload ``batch``; the seq through which the cloud acknowledged it."""
        response = await (stub or self._stub).UploadEvents(
            UploadEventsRequest(store_id=self._config.store_id, edge_id=self._config.edge_id, events=batch),
            timeout=self._config.upload_timeout_s,
            # Batches repeat ids, products and token fields: gzip sends far fewer bytes over a slow uplink.
            compression=grpc.Compression.Gzip if self._config.upload_gzip else None,
        )
        self.batches_sent += 1
        # Never trust a watermark beyond what was sent: later events may not even exist yet.
        watermark = min(response.acknowledged_seq, batch[-1].seq)
        if watermark < batch[0].seq:
            raise UploadRefusedError(
                f"cloud acknowledged seq {response.acknowledged_seq}, batch starts at {batch[0].seq}"
            )
        return watermark

    async def _acknowledge(self, watermark: int) -> int:
        deleted = await asyncio.to_thread(self._journal.acknowledge, watermark)
        if self._on_acknowledged is not None:
            self._on_acknowledged()
        async with self._progress:
            self._progress.notify_all()
        _log.debug("uploaded", acknowledged_seq=watermark, deleted=deleted)
        return deleted

    async def wait_until_empty(self, timeout_s: float) -> None:
        """Wait until the journal holds no unacknowledged event; raises TimeoutError otherwise."""
        async with asyncio.timeout(timeout_s), self._progress:
            await self._progress.wait_for(lambda: self._journal.depth() == 0)
