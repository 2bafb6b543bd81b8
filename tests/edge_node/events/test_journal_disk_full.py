"""A disk that really fills: the journal answers JournalFullError naming the disk, keeps every event it
acknowledged, and journals again once there is room. Runs on a small tmpfs mounted for the test
(root only; skipped elsewhere with the reason, required under CI=true)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cartads.v1.common_pb2 import CartEvent, EventType
from edge_node.errors import JournalFullError
from edge_node.events.journal import Journal
from tests.edge_node.helpers import edge_config

_SIZE = "600k"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={_SIZE}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        why = f"cannot mount a {_SIZE} tmpfs to fill ({done.stderr.strip() or 'mount failed'}); needs root"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def batch(n: int) -> list[CartEvent]:
    return [
        CartEvent(event_id=f"e-{n}-{i}", type=EventType.EVENT_TYPE_CHECKOUT, cart_id="cart-1", session_id="x" * 200)
        for i in range(50)
    ]


def fill(journal: Journal) -> tuple[list[str], JournalFullError]:
    """Append batches until the journal refuses one: the ids it acknowledged, and the refusal."""
    acknowledged: list[str] = []
    for n in range(10_000):
        written = batch(n)
        try:
            journal.append(written, 1)
        except JournalFullError as refused:
            return acknowledged, refused
        acknowledged += [e.event_id for e in written]
    raise AssertionError("the disk never filled")


def test_a_full_disk_refuses_explicitly_and_loses_nothing(small_disk: Path) -> None:
    """ENOSPC is a JournalFullError about the disk; every acknowledged event stays; room again journals again."""
    config = edge_config(small_disk, 1, journal_map_size_bytes=64 * 1024 * 1024)
    journal = Journal.open(config)
    acknowledged, refused = fill(journal)
    assert acknowledged, "the disk filled before the first write: the test disk is too small"
    assert "disk refused" in str(refused)
    assert [j.event.event_id for j in journal.read_batch(len(acknowledged) + 100)] == acknowledged
    assert journal.depth() == len(acknowledged)
    # The cloud takes the backlog: the freed pages take new events without growing the file.
    last_seq = journal.read_batch(len(acknowledged))[-1].seq
    journal.acknowledge(last_seq)
    again = batch(-1)
    assert len(journal.append(again, 2).accepted) == len(again)
    journal.close()
    reopened = Journal.open(config)
    assert [j.event.event_id for j in reopened.read_batch(100)] == [e.event_id for e in again]
    reopened.close()
