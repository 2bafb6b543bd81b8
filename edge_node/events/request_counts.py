"""GetAds request counts: counted in memory per request, journaled and uploaded like events.

Each GetAds adds one to its (UTC hour, trigger, no-fill reason) row and to the rows of the line
items it served or throttled: a few dict updates, no I/O. Every ``request_counts_flush_s`` the
counts so far are taken out of memory and journaled as one record — a JournaledEvent whose
``request_counts`` is set and whose event carries only a fresh unique id — in the same durable
journal as cart events, so the uploader sends it with them and the cloud adds it once (it dedupes
records on their id as it dedupes events). A record is journaled once (its counts leave memory
only when the journal commits them; a failed commit puts them back) and re-sent until
acknowledged, so nothing is counted twice. A clean stop journals the last counts; only a crash
loses what was counted since the last flush (at most one flush interval of counts, never events).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import structlog
from google.protobuf.timestamp_pb2 import Timestamp

from cartads.v1.common_pb2 import CartEvent
from cartads.v1.request_counts_pb2 import LineItemCountRow, RequestCountRow, RequestCounts
from edge_node.events.group_commit import GroupCommitter
from edge_node.events.journal import JournalWrite
from edge_node.serving.selection import Decision

_log = structlog.get_logger("edge.request_counts")
_HOUR_MS = 3_600_000


def _hour_ts(hour: int) -> Timestamp:
    return Timestamp(seconds=hour * 3600)


class RequestCounter:
    """Counts of GetAds outcomes per UTC hour, since the last ``drain``."""

    __slots__ = ("_line_items", "_rows")

    def __init__(self) -> None:
        # (hour number, trigger, no-fill reason) -> [requests, ads]
        self._rows: dict[tuple[int, int, int], list[int]] = {}
        # (hour number, line item id) -> [ads, throttled]
        self._line_items: dict[tuple[int, str], list[int]] = {}

    def record(self, now_unix_ms: int, trigger: int, decision: Decision) -> None:
        """Count one answered request (the hot path: dict updates only)."""
        hour = now_unix_ms // _HOUR_MS
        ads = decision.ads
        key = (hour, trigger, int(decision.no_fill_reason))
        row = self._rows.get(key)
        if row is None:
            self._rows[key] = [1, len(ads)]
        else:
            row[0] += 1
            row[1] += len(ads)
        if ads or decision.throttled:
            line_items = self._line_items
            for ad in ads:
                li_key = (hour, ad.line_item.line_item_id)
                counts = line_items.get(li_key)
                if counts is None:
                    line_items[li_key] = [1, 0]
                else:
                    counts[0] += 1
            for line_item_id in decision.throttled:
                li_key = (hour, line_item_id)
                counts = line_items.get(li_key)
                if counts is None:
                    line_items[li_key] = [0, 1]
                else:
                    counts[1] += 1

    def drain(self) -> RequestCounts | None:
        """Everything counted since the last drain, as a record; None when nothing was."""
        if not self._rows and not self._line_items:
            return None
        rows, line_items = self._rows, self._line_items
        self._rows, self._line_items = {}, {}
        return RequestCounts(
            rows=[
                RequestCountRow(
                    hour_start_time=_hour_ts(hour),
                    trigger=trigger,  # type: ignore[arg-type]
                    no_fill_reason=reason,  # type: ignore[arg-type]
                    requests=n,
                    ads=a,
                )
                for (hour, trigger, reason), (n, a) in sorted(rows.items())
            ],
            line_items=[
                LineItemCountRow(hour_start_time=_hour_ts(hour), line_item_id=lid, ads=a, throttled=th)
                for (hour, lid), (a, th) in sorted(line_items.items())
            ],
        )

    def restore(self, counts: RequestCounts) -> None:
        """Put a drained record's counts back (its journal write failed), adding to newer counts."""
        for r in counts.rows:
            key = (r.hour_start_time.seconds // 3600, int(r.trigger), int(r.no_fill_reason))
            row = self._rows.setdefault(key, [0, 0])
            row[0] += r.requests
            row[1] += r.ads
        for li in counts.line_items:
            li_counts = self._line_items.setdefault((li.hour_start_time.seconds // 3600, li.line_item_id), [0, 0])
            li_counts[0] += li.ads
            li_counts[1] += li.throttled


class RequestCountFlusher:
    """Journals the counter's counts every ``interval_s`` and once more at stop."""

    def __init__(
        self,
        counter: RequestCounter,
        committer: GroupCommitter,
        *,
        edge_id: str,
        interval_s: float,
        clock: Callable[[], float] = time.time,
        on_journaled: Callable[[], None] | None = None,
    ) -> None:
        self._counter = counter
        self._committer = committer
        self._edge_id = edge_id
        self._interval_s = interval_s
        self._clock = clock
        self._on_journaled = on_journaled
        self._inflight: set[asyncio.Task[bool]] = set()

    async def flush(self) -> bool:
        """Journal what was counted so far; False when there was nothing (or the journal refused it)."""
        counts = self._counter.drain()
        if counts is None:
            return False
        # Its own task: a caller cancelled meanwhile (at stop) must not leave it unknown whether the
        # drained counts were journaled; ``close`` waits for it.
        task = asyncio.create_task(self._journal(counts), name="edge-request-counts")
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return await asyncio.shield(task)

    async def _journal(self, counts: RequestCounts) -> bool:
        # A fresh id per record: the cloud dedupes re-sent uploads of it on this id.
        event = CartEvent(event_id=f"request-counts/{self._edge_id}/{uuid.uuid4().hex}")
        try:
            await self._committer.submit(JournalWrite([event], int(self._clock() * 1000), request_counts=counts))
        except Exception as exc:
            # Not journaled: keep the counts for the next flush rather than lose them.
            self._counter.restore(counts)
            _log.warning("request counts not journaled", error=type(exc).__name__)
            return False
        if self._on_journaled is not None:
            self._on_journaled()
        return True

    async def run(self) -> None:
        """Flush every interval until cancelled."""
        while True:
            await asyncio.sleep(self._interval_s)
            await self.flush()

    async def close(self) -> None:
        """At stop, after the last request: wait for records being journaled, then journal the rest."""
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        await self.flush()
