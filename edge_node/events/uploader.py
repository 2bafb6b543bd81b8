"""The uploader: sends journaled events to the cloud in seq order and deletes only what it acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable

import grpc
import structlog

from cartads.v1 import event_ingest_pb2
from cartads.v1.event_ingest_pb2 import UploadEventsRequest, UploadEventsResponse
from edge_node.cloud_link.backoff import Backoff
from edge_node.cloud_link.refusals import CREDENTIAL_REFUSALS, log_call_failure
from edge_node.config import EdgeConfig
from edge_node.events.batch_size import BatchSizer
from edge_node.events.journal import Journal

_log = structlog.get_logger("edge.uploader")
_REFUSALS = CREDENTIAL_REFUSALS | {grpc.StatusCode.INVALID_ARGUMENT}
_UPLOAD_METHOD = f"/{event_ingest_pb2.DESCRIPTOR.services_by_name['EventIngestService'].full_name}/UploadEvents"


def _as_is(payload: bytes) -> bytes:
    return payload


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
    ) -> None:
        # The request is serialized in the worker thread that reads the batch (up to 5,000 events, ~1 MB:
        # ~4 ms of CPU that the event loop's thread would otherwise spend), so the call sends bytes as they are.
        self._upload = channel.unary_unary(
            _UPLOAD_METHOD, request_serializer=_as_is, response_deserializer=UploadEventsResponse.FromString
        )
        self._config = config
        self._journal = journal
        self._on_acknowledged = on_acknowledged
        self._backoff = Backoff(config.upload_backoff_initial_s, config.upload_backoff_max_s, rng)
        self._sizer = BatchSizer(
            min(config.upload_batch_start_events, config.upload_batch_max_events),
            config.upload_batch_max_events,
            target_s=config.upload_timeout_s / 4,
        )
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
                sent = await self.upload_once()
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
                if linger_s > 0 and self._journal.depth() < self._sizer.size:
                    await asyncio.sleep(linger_s)

    async def _after_failure(self, exc: Exception) -> None:
        self.failures += 1
        self._sizer.failed()
        delay_s = self._backoff.next_delay_s()
        if isinstance(exc, grpc.aio.AioRpcError):
            # A refused credential, or a batch the cloud calls malformed (a broken edge), needs an operator.
            log_call_failure(_log, "upload failed, retrying", exc, refusals=_REFUSALS, retry_in_s=round(delay_s, 3))
        else:
            _log.info("upload failed, retrying", error=str(exc), retry_in_s=round(delay_s, 3))
        await self._sleep(delay_s)

    @property
    def batch_size(self) -> int:
        """How many events the next upload may carry (it adapts to the link)."""
        return self._sizer.size

    def _read_request(self, max_events: int) -> tuple[int, int, int, bytes] | None:
        """In a worker thread: the next batch as (first seq, last seq, events, the serialized request)."""
        batch = self._journal.read_batch(max_events)
        if not batch:
            return None
        request = UploadEventsRequest(store_id=self._config.store_id, edge_id=self._config.edge_id, events=batch)
        return batch[0].seq, batch[-1].seq, len(batch), request.SerializeToString()

    async def upload_once(self) -> int:
        """Send one batch; returns how many events the cloud acknowledged (0 when there was nothing)."""
        read = await asyncio.to_thread(self._read_request, self._sizer.size)
        if read is None:
            return 0
        first_seq, last_seq, count, payload = read
        started = time.monotonic()
        response = await self._upload(
            payload,
            timeout=self._config.upload_timeout_s,
            # Batches repeat ids, products and token fields: gzip sends a third of the bytes or less.
            # (gRPC compresses on the event loop's thread: ~10 ms of CPU for a full 5,000-event batch.)
            compression=grpc.Compression.Gzip if self._config.upload_gzip else None,
        )
        self._sizer.answered(count, time.monotonic() - started)
        self.batches_sent += 1
        # Never trust a watermark beyond what was sent: later events may not even exist yet.
        watermark = min(response.acknowledged_seq, last_seq)
        if watermark < first_seq:
            raise UploadRefusedError(f"cloud acknowledged seq {response.acknowledged_seq}, batch starts at {first_seq}")
        deleted = await asyncio.to_thread(self._journal.acknowledge, watermark)
        if self._on_acknowledged is not None:
            self._on_acknowledged()
        async with self._progress:
            self._progress.notify_all()
        _log.debug("uploaded", events=count, acknowledged_seq=watermark, deleted=deleted)
        return deleted

    async def wait_until_empty(self, timeout_s: float) -> None:
        """Wait until the journal holds no unacknowledged event; raises TimeoutError otherwise."""
        async with asyncio.timeout(timeout_s), self._progress:
            await self._progress.wait_for(lambda: self._journal.depth() == 0)
