"""Group commit: concurrent journal writes share transactions, each caller learns its own result."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cartads.v1.common_pb2 import CartEvent, EventType
from cartads.v1.event_ingest_pb2 import JournaledEvent
from edge_node.errors import JournalFullError
from edge_node.events.group_commit import GroupCommitter
from edge_node.events.journal import Journal, JournalWrite
from edge_node.events.leases import LeaseCharge
from tests.edge_node.helpers import edge_config


def events(*ids: str) -> list[CartEvent]:
    return [CartEvent(event_id=i, type=EventType.EVENT_TYPE_CHECKOUT, cart_id="c") for i in ids]


def journaled_size(event: CartEvent) -> int:
    """What one such event takes in the journal (a small seq, receive time 0), as the limits count it."""
    journaled = JournaledEvent(seq=1, event=event)
    journaled.receive_time.FromMilliseconds(0)  # set, though zero: the journal always stamps it
    return len(journaled.SerializeToString(deterministic=True))


async def test_concurrent_writes_share_commits(tmp_path: Path) -> None:
    """Many concurrent callers are committed in fewer transactions than there are calls."""
    journal = Journal.open(edge_config(tmp_path, 1))
    committer = GroupCommitter(journal, 10_000)
    try:
        results = await asyncio.gather(
            *(committer.submit(JournalWrite(events(f"e{i}a", f"e{i}b"), 0)) for i in range(200))
        )
        assert all(len(r.accepted) == 2 for r in results)
        assert committer.commits < 200
        assert journal.depth() == 400
        assert sorted(j.seq for r in results for j in r.accepted) == list(range(1, 401))
    finally:
        journal.close()


async def test_over_hard_limit_write_fails_alone(tmp_path: Path) -> None:
    """A write that would pass the hard limit (bytes) gets JournalFullError; the rest of its group commits."""
    journal = Journal.open(edge_config(tmp_path, 1, journal_hard_limit_bytes=3 * journaled_size(events("a")[0])))
    committer = GroupCommitter(journal, 10_000)
    try:
        first, second = await asyncio.gather(
            committer.submit(JournalWrite(events("a", "b"), 0)),
            committer.submit(JournalWrite(events("c", "d"), 0)),
            return_exceptions=True,
        )
        assert not isinstance(first, BaseException)
        assert len(first.accepted) == 2
        assert isinstance(second, JournalFullError)
        assert "bytes" in str(second)
        assert journal.depth() == 2
        assert journal.unsent_bytes() == 2 * journaled_size(events("a")[0])
    finally:
        journal.close()


async def test_committed_writes_survive_reopen(tmp_path: Path) -> None:
    """Once submit returns, the events and their lease charges are on disk."""
    config = edge_config(tmp_path, 1)
    journal = Journal.open(config)
    committer = GroupCommitter(journal, 10_000)
    charge = LeaseCharge("camp-1", "lease-1", 2_500, 0)
    await committer.submit(JournalWrite(events("a", "b"), 0, lambda _e: charge))
    journal.close()
    reopened = Journal.open(config)
    try:
        assert [j.event.event_id for j in reopened.read_batch(10)] == ["a", "b"]
        assert reopened.load_lease_spend(0) == {("camp-1", "lease-1"): 5_000}
    finally:
        reopened.close()


async def test_duplicates_are_not_charged(tmp_path: Path) -> None:
    """A re-sent event adds no lease spend."""
    journal = Journal.open(edge_config(tmp_path, 1))
    committer = GroupCommitter(journal, 10_000)
    charge = LeaseCharge("camp-1", "lease-1", 1_000, 0)
    try:
        await committer.submit(JournalWrite(events("a"), 0, lambda _e: charge))
        again = await committer.submit(JournalWrite(events("a"), 0, lambda _e: charge))
        assert again.duplicate_count == 1
        assert again.charges == ()
        assert journal.lease_spend("camp-1", "lease-1") == 1_000
    finally:
        journal.close()


def test_oldest_unsent_time_follows_acknowledgements(tmp_path: Path) -> None:
    """The oldest unsent receive time moves on as the cloud acknowledges, and is 0 when empty."""
    journal = Journal.open(edge_config(tmp_path, 1))
    try:
        assert journal.oldest_receive_unix_ms() == 0
        journal.append(events("a"), 1_000)
        journal.append(events("b"), 2_000)
        assert journal.oldest_receive_unix_ms() == 1_000
        journal.acknowledge(1)
        assert journal.oldest_receive_unix_ms() == 2_000
        journal.acknowledge(2)
        assert journal.oldest_receive_unix_ms() == 0
    finally:
        journal.close()


def test_append_over_hard_limit_raises(tmp_path: Path) -> None:
    """The single-caller append raises JournalFullError at the hard limit and journals nothing."""
    journal = Journal.open(edge_config(tmp_path, 1, journal_hard_limit_bytes=journaled_size(events("a")[0])))
    try:
        with pytest.raises(JournalFullError):
            journal.append(events("a", "b"), 0)
        assert (journal.depth(), journal.unsent_bytes()) == (0, 0)
    finally:
        journal.close()


async def test_groups_are_bounded_in_events(tmp_path: Path) -> None:
    """No transaction takes more than max_group_events events (beyond a single larger write)."""
    journal = Journal.open(edge_config(tmp_path, 1))
    committer = GroupCommitter(journal, 2)
    try:
        await asyncio.gather(*(committer.submit(JournalWrite(events(f"a{i}", f"b{i}"), 0)) for i in range(3)))
        assert committer.commits == 3
        assert journal.depth() == 6
    finally:
        journal.close()
