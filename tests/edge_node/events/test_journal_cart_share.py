"""Each cart's unsent events in the journal, in bytes as journaled: counted as journaled, released as
acknowledged, rebuilt on reopen; and every journaled event names the credential its cart authenticated with."""

from __future__ import annotations

from pathlib import Path

from cartads.v1.common_pb2 import CartEvent, EventType
from edge_node.events.journal import Journal, JournalWrite
from tests.edge_node.helpers import edge_config


def checkouts(cart_id: str, *ids: str) -> list[CartEvent]:
    return [CartEvent(event_id=i, type=EventType.EVENT_TYPE_CHECKOUT, cart_id=cart_id) for i in ids]


def open_journal(tmp_path: Path) -> Journal:
    return Journal.open(edge_config(tmp_path, 9))


def bytes_of(journal: Journal, cart_id: str) -> int:
    """The journaled size of the cart's unsent events, read back from the journal itself."""
    return sum(
        len(j.SerializeToString(deterministic=True)) for j in journal.read_batch(1000) if j.event.cart_id == cart_id
    )


def test_unsent_events_are_counted_per_cart(tmp_path: Path) -> None:
    """Journaled events count for their own cart only; duplicates count nothing."""
    journal = open_journal(tmp_path)
    journal.append(checkouts("a", "a1", "a2", "a3"), 1)
    journal.append(checkouts("b", "b1", "a1"), 1)  # a1 again: a duplicate
    sizes = (journal.unsent_bytes_for("a"), journal.unsent_bytes_for("b"), journal.unsent_bytes_for("c"))
    assert sizes == (bytes_of(journal, "a"), bytes_of(journal, "b"), 0)
    assert [j.event.event_id for j in journal.read_batch(10)] == ["a1", "a2", "a3", "b1"]
    assert journal.unsent_bytes() == sizes[0] + sizes[1] > 0
    journal.close()


def test_acknowledged_events_leave_their_carts_share(tmp_path: Path) -> None:
    """Once the cloud acknowledges events, they no longer count for their cart."""
    journal = open_journal(tmp_path)
    journal.append(checkouts("a", "a1", "a2"), 1)
    journal.append(checkouts("b", "b1"), 1)
    b_bytes = journal.unsent_bytes_for("b")
    journal.acknowledge(2)
    assert (journal.unsent_bytes_for("a"), journal.unsent_bytes_for("b")) == (0, b_bytes)
    assert journal.unsent_bytes() == b_bytes > 0
    journal.close()


def test_counts_are_rebuilt_on_reopen(tmp_path: Path) -> None:
    """A restarted edge knows each cart's unsent events from the journal on disk."""
    journal = open_journal(tmp_path)
    journal.append(checkouts("a", "a1", "a2"), 1)
    journal.append(checkouts("b", "b1"), 1)
    before = (journal.unsent_bytes_for("a"), journal.unsent_bytes_for("b"), journal.unsent_bytes())
    journal.close()
    reopened = open_journal(tmp_path)
    assert (reopened.unsent_bytes_for("a"), reopened.unsent_bytes_for("b"), reopened.unsent_bytes()) == before
    reopened.close()


def test_journaled_events_carry_the_credential_id(tmp_path: Path) -> None:
    """A write's cart_credential_id is stamped on each of its journaled events."""
    journal = open_journal(tmp_path)
    [result] = journal.append_group([JournalWrite(checkouts("a", "a1", "a2"), 1, cart_credential_id="cred-a")])
    assert not isinstance(result, Exception)
    assert [j.cart_credential_id for j in journal.read_batch(10)] == ["cred-a", "cred-a"]
    journal.close()
