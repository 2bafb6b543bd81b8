"""A journal entry that does not parse is set aside (quarantined), so the events behind it still upload."""

from __future__ import annotations

import struct
from pathlib import Path

import grpc
import lmdb
import pytest
from structlog.testing import capture_logs

from cartads.v1.common_pb2 import CartEvent, EventType
from edge_node.config import EdgeConfig
from edge_node.events.journal import Journal
from edge_node.events.uploader import Uploader
from tests.edge_node.helpers import FakeCloud, edge_config


def checkouts(*ids: str) -> list[CartEvent]:
    return [CartEvent(event_id=i, type=EventType.EVENT_TYPE_CHECKOUT, cart_id="c") for i in ids]


def corrupt_entry(config: EdgeConfig, seq: int) -> None:
    """Overwrite one journaled event's bytes with bytes no JournaledEvent parses from."""
    env = lmdb.open(str(Path(config.data_dir) / "journal"), max_dbs=6, subdir=True)
    try:
        events = env.open_db(b"events")
        with env.begin(write=True) as txn:
            txn.put(struct.pack(">Q", seq), b"\x0a\x05ab", db=events)
    finally:
        env.close()


@pytest.fixture
def journal_with_a_corrupt_entry(tmp_path: Path) -> Journal:
    """A journal of e1, e2, e3 whose entry for e2 (seq 2) was corrupted on disk."""
    config = edge_config(tmp_path, 1)
    journal = Journal.open(config)
    journal.append(checkouts("e1", "e2", "e3"), 1000)
    journal.close()
    corrupt_entry(config, 2)
    return Journal.open(config)


def test_a_corrupt_entry_is_left_out_of_the_batch(journal_with_a_corrupt_entry: Journal) -> None:
    """The batch holds the entries that parse, in order."""
    batch = journal_with_a_corrupt_entry.read_batch(10)
    journal_with_a_corrupt_entry.close()
    assert [(j.seq, j.event.event_id) for j in batch] == [(1, "e1"), (3, "e3")]


def test_a_corrupt_entry_is_counted_and_logged_at_error(journal_with_a_corrupt_entry: Journal) -> None:
    """The entry moves to the quarantine, leaves the depth, and is one error line naming its seq."""
    with capture_logs() as logs:
        journal_with_a_corrupt_entry.read_batch(10)
    depth, quarantined = journal_with_a_corrupt_entry.depth(), journal_with_a_corrupt_entry.quarantined()
    journal_with_a_corrupt_entry.close()
    assert (depth, quarantined) == (2, 1)
    assert [(line["log_level"], line["seq"]) for line in logs] == [("error", 2)]


def test_the_quarantine_survives_a_reopen(tmp_path: Path, journal_with_a_corrupt_entry: Journal) -> None:
    """The set-aside entry is kept on disk and counted after a restart."""
    journal_with_a_corrupt_entry.read_batch(10)
    journal_with_a_corrupt_entry.close()
    reopened = Journal.open(edge_config(tmp_path, 1))
    try:
        assert (reopened.quarantined(), reopened.depth()) == (1, 2)
    finally:
        reopened.close()


async def test_the_journal_drains_past_a_corrupt_entry(
    tmp_path: Path, fake_cloud: tuple[FakeCloud, int], journal_with_a_corrupt_entry: Journal
) -> None:
    """The uploader sends the entries that parse and the journal empties."""
    fake, port = fake_cloud
    config = edge_config(tmp_path, port)
    async with grpc.aio.insecure_channel(config.cloud_address) as channel:
        uploader = Uploader(channel, config, journal_with_a_corrupt_entry)
        while await uploader.upload_once():
            pass
    depth = journal_with_a_corrupt_entry.depth()
    journal_with_a_corrupt_entry.close()
    assert (depth, sorted(fake.events)) == (0, ["e1", "e3"])
