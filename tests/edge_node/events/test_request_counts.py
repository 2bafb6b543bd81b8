"""GetAds request counts: counted per request, journaled as records, put back when the journal fails."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from cartads.v1.request_counts_pb2 import RequestCounts
from edge_node.errors import JournalFullError
from edge_node.events.group_commit import GroupCommitter
from edge_node.events.journal import AppendResult, Journal, JournalWrite
from edge_node.events.request_counts import RequestCounter, RequestCountFlusher
from edge_node.index.view import Creative, LineItem
from edge_node.serving.selection import Decision, NoFillReason, SelectedAd
from tests.edge_node.helpers import edge_config

HOUR_MS = 3_600_000
T0 = 480_000 * HOUR_MS  # the start of a UTC hour


def ad(line_item_id: str) -> SelectedAd:
    return SelectedAd("slot-0", LineItem(line_item_id), Creative("cr"), 1000, 1.0)


def rows(counts: RequestCounts) -> dict[tuple[int, int, int], tuple[int, int]]:
    return {
        (r.hour_start_time.seconds * 1000, int(r.trigger), int(r.no_fill_reason)): (r.requests, r.ads)
        for r in counts.rows
    }


def test_requests_are_counted_per_hour_trigger_and_outcome() -> None:
    """Each request adds to its hour's row for its trigger and no-fill reason (0: filled), with its ads."""
    counter = RequestCounter()
    counter.record(T0 + 5, 2, Decision((ad("a"), ad("b"))))
    counter.record(T0 + 9, 2, Decision((ad("a"),)))
    counter.record(T0 + HOUR_MS, 2, Decision((), NoFillReason.NO_CANDIDATES))
    counts = counter.drain()
    assert counts is not None
    assert rows(counts) == {(T0, 2, 0): (2, 3), (T0 + HOUR_MS, 2, int(NoFillReason.NO_CANDIDATES)): (1, 0)}


def test_line_items_count_ads_and_throttles() -> None:
    """Per line item and hour: ads served, and requests pacing held it back from."""
    counter = RequestCounter()
    counter.record(T0, 1, Decision((ad("a"),), throttled=("b",)))
    counter.record(T0, 1, Decision((), NoFillReason.THROTTLED, ("b",)))
    counts = counter.drain()
    assert counts is not None
    assert {(li.line_item_id, li.ads, li.throttled) for li in counts.line_items} == {("a", 1, 0), ("b", 0, 2)}


def test_drain_empties_the_counter() -> None:
    """What was drained is not drained again; nothing counted drains to None."""
    counter = RequestCounter()
    counter.record(T0, 1, Decision(()))
    drained = counter.drain()
    assert drained is not None
    assert rows(drained) == {(T0, 1, int(NoFillReason.NONE)): (1, 0)}
    assert counter.drain() is None


def test_restore_adds_back_to_newer_counts() -> None:
    """A record put back (journal failed) adds to what was counted since."""
    counter = RequestCounter()
    counter.record(T0, 1, Decision((ad("a"),)))
    drained = counter.drain()
    assert drained is not None
    counter.record(T0, 1, Decision((ad("a"),)))
    counter.restore(drained)
    again = counter.drain()
    assert again is not None
    assert rows(again) == {(T0, 1, 0): (2, 2)}
    assert [(li.line_item_id, li.ads) for li in again.line_items] == [("a", 2)]


async def test_flush_journals_one_record_with_a_unique_id(tmp_path: Path) -> None:
    """A flush journals the counts durably as one record whose event carries only a fresh id."""
    journal = Journal.open(edge_config(tmp_path, 1))
    try:
        counter = RequestCounter()
        flusher = RequestCountFlusher(counter, GroupCommitter(journal, 100), edge_id="e1", interval_s=60)
        counter.record(T0, 1, Decision((ad("a"),)))
        assert await flusher.flush()
        counter.record(T0, 1, Decision(()))
        await flusher.close()
        batch = journal.read_batch(10)
    finally:
        journal.close()
    assert [j.HasField("request_counts") for j in batch] == [True, True]
    assert batch[0].event.event_id.startswith("request-counts/e1/")
    assert batch[0].event.event_id != batch[1].event.event_id
    assert rows(batch[0].request_counts) == {(T0, 1, 0): (1, 1)}


class _FullCommitter(GroupCommitter):
    def __init__(self) -> None:  # no journal: every write is refused
        pass

    async def submit(self, write: JournalWrite) -> AppendResult:
        raise JournalFullError("full")


async def test_refused_flush_keeps_the_counts() -> None:
    """When the journal refuses the record, its counts stay in memory for the next flush."""
    counter = RequestCounter()
    flusher = RequestCountFlusher(counter, _FullCommitter(), edge_id="e1", interval_s=60)
    counter.record(T0, 1, Decision((ad("a"),)))
    assert not await flusher.flush()
    kept = counter.drain()
    assert kept is not None
    assert rows(kept) == {(T0, 1, 0): (1, 1)}


async def test_run_flushes_periodically(tmp_path: Path) -> None:
    """The flusher's task journals counts every interval without being asked."""
    journal = Journal.open(edge_config(tmp_path, 1))
    try:
        counter = RequestCounter()
        journaled = asyncio.Event()
        flusher = RequestCountFlusher(
            counter, GroupCommitter(journal, 100), edge_id="e1", interval_s=0.01, on_journaled=journaled.set
        )
        counter.record(T0, 1, Decision(()))
        task = asyncio.create_task(flusher.run())
        await journaled.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert journal.depth() == 1
    finally:
        journal.close()
