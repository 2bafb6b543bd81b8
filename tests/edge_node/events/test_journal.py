"""The LMDB event journal: durable, ordered, deduplicated, deleted only through a watermark."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartads.v1.common_pb2 import CartEvent, EventType
from edge_node.config import EdgeConfig
from edge_node.errors import StoreClosedError
from edge_node.events.journal import Journal
from tests.edge_node.helpers import edge_config


def events(*ids: str) -> list[CartEvent]:
    return [CartEvent(event_id=i, type=EventType.EVENT_TYPE_BASKET_ADD, cart_id="c", product_id="p") for i in ids]


@pytest.fixture
def journal_config(tmp_path: Path) -> EdgeConfig:
    """An edge config whose journal lives in tmp_path; no cloud is needed to journal."""
    return edge_config(tmp_path, 1)


def test_events_survive_reopen_in_seq_order(journal_config: EdgeConfig) -> None:
    """Journaled events read back after a reopen, in seq order, with receive time."""
    journal = Journal.open(journal_config)
    journal.append(events("e1", "e2"), 1000)
    journal.append(events("e3"), 2000)
    journal.close()
    reopened = Journal.open(journal_config)
    try:
        batch = reopened.read_batch(10)
    finally:
        reopened.close()
    assert [(j.seq, j.event.event_id) for j in batch] == [(1, "e1"), (2, "e2"), (3, "e3")]
    assert batch[2].receive_time.ToMilliseconds() == 2000


def test_seq_continues_after_reopen(journal_config: EdgeConfig) -> None:
    """The seq counter is persisted, so seqs keep increasing across restarts and acknowledgements."""
    journal = Journal.open(journal_config)
    journal.append(events("e1", "e2"), 0)
    journal.acknowledge(2)
    journal.close()
    reopened = Journal.open(journal_config)
    try:
        result = reopened.append(events("e3"), 0)
    finally:
        reopened.close()
    assert [j.seq for j in result.accepted] == [3]


def test_duplicate_event_ids_are_counted_not_journaled(journal_config: EdgeConfig) -> None:
    """An event id seen before (in an earlier call or the same one) is a duplicate."""
    journal = Journal.open(journal_config)
    try:
        journal.append(events("e1"), 0)
        result = journal.append(events("e1", "e2", "e2"), 0)
        assert [j.event.event_id for j in result.accepted] == ["e2"]
        assert result.duplicate_count == 2
        assert journal.depth() == 2
    finally:
        journal.close()


def test_duplicate_detected_after_acknowledgement(journal_config: EdgeConfig) -> None:
    """An event re-sent after the cloud acknowledged it is still a duplicate within the window."""
    journal = Journal.open(journal_config)
    try:
        journal.append(events("e1"), 0)
        journal.acknowledge(1)
        assert journal.append(events("e1"), 0).duplicate_count == 1
    finally:
        journal.close()


def test_acknowledge_deletes_only_through_watermark(journal_config: EdgeConfig) -> None:
    """Events with seq above the acknowledged one stay in the journal."""
    journal = Journal.open(journal_config)
    try:
        journal.append(events("e1", "e2", "e3"), 0)
        assert journal.acknowledge(2) == 2
        assert [j.event.event_id for j in journal.read_batch(10)] == ["e3"]
        assert journal.depth() == 1
    finally:
        journal.close()


def test_read_batch_is_bounded(journal_config: EdgeConfig) -> None:
    """A batch holds at most the requested number of events, oldest first."""
    journal = Journal.open(journal_config)
    try:
        journal.append(events(*(f"e{i}" for i in range(5))), 0)
        assert [j.seq for j in journal.read_batch(2)] == [1, 2]
    finally:
        journal.close()


def test_closed_journal_raises(journal_config: EdgeConfig) -> None:
    """Using a closed journal is a clear error, not a crash in LMDB."""
    journal = Journal.open(journal_config)
    journal.close()
    with pytest.raises(StoreClosedError):
        journal.depth()


def test_dedupe_window_forgets_old_ids(tmp_path: Path) -> None:
    """Ids of events acknowledged longer ago than the window are forgotten (the cloud dedupes those)."""
    journal = Journal.open(edge_config(tmp_path, 1, journal_dedupe_window_events=1))
    try:
        journal.append(events("e1", "e2", "e3"), 0)
        journal.acknowledge(3)
        result = journal.append(events("e1", "e2", "e3"), 0)
        assert [j.event.event_id for j in result.accepted] == ["e1", "e2"]
        assert result.duplicate_count == 1
    finally:
        journal.close()
