"""The cart's outbox: bounded, oldest first, deduplicated by event id, and on disk across restarts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cart_client.app.outbox import EventOutbox, MemoryOutbox, SqliteOutbox
from cartads.v1 import common_pb2


def event(n: int) -> common_pb2.CartEvent:
    return common_pb2.CartEvent(event_id=f"e{n}", type=common_pb2.EVENT_TYPE_BASKET_ADD, product_id=f"p{n}")


def memory(_: Path, max_events: int) -> EventOutbox:
    return MemoryOutbox(max_events)


def sqlite(path: Path, max_events: int) -> EventOutbox:
    return SqliteOutbox(path, max_events)


KINDS = pytest.mark.parametrize("make", [memory, sqlite], ids=["memory", "sqlite"])
Make = Callable[[Path, int], EventOutbox]


@KINDS
def test_oldest_first_and_ack_removes(make: Make, tmp_path: Path) -> None:
    """peek returns the oldest events first; ack forgets exactly the acknowledged ones."""
    outbox = make(tmp_path, 100)
    outbox.append([event(n) for n in range(5)])
    assert [e.event_id for e in outbox.peek(3)] == ["e0", "e1", "e2"]
    outbox.ack(["e0", "e2"])
    assert [e.event_id for e in outbox.peek(10)] == ["e1", "e3", "e4"]
    assert outbox.depth() == 3


@KINDS
def test_same_event_id_is_queued_once(make: Make, tmp_path: Path) -> None:
    """Appending an event id already queued keeps the first copy."""
    outbox = make(tmp_path, 100)
    outbox.append([event(1)])
    outbox.append([common_pb2.CartEvent(event_id="e1", product_id="other")])
    (only,) = outbox.peek(10)
    assert only.product_id == "p1"


@KINDS
def test_full_outbox_drops_the_oldest(make: Make, tmp_path: Path) -> None:
    """Past max_events the oldest events go, and append says how many."""
    outbox = make(tmp_path, 3)
    assert outbox.append([event(n) for n in range(2)]) == 0
    assert outbox.append([event(n) for n in range(2, 5)]) == 2
    assert [e.event_id for e in outbox.peek(10)] == ["e2", "e3", "e4"]


def test_sqlite_outbox_survives_a_restart(tmp_path: Path) -> None:
    """Events queued before the cart restarts are still there, whole, after it reopens the state dir."""
    first = SqliteOutbox(tmp_path)
    first.append([event(1), event(2)])
    first.ack(["e1"])
    first.close()
    second = SqliteOutbox(tmp_path)
    assert [(e.event_id, e.product_id, e.type) for e in second.peek(10)] == [
        ("e2", "p2", common_pb2.EVENT_TYPE_BASKET_ADD)
    ]
    second.close()
