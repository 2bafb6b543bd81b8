"""One event the database refuses is dead-lettered alone; the rest of its upload, and of the uploads
committed with it, is billed. A database that is away dead-letters nothing: the upload is UNAVAILABLE."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from structlog.testing import capture_logs

from cartads.rpc.errors import UnavailableError
from cartads.v1 import common_pb2
from cloud_core.events.outcomes import EventOutcome
from cloud_core.storage import schema
from cloud_core.storage.ledger import SqlLedger
from cloud_core.storage.sql.database import Database

T = TypeVar("T")
# A time no BIGINT column holds: the event's own row cannot be written, on either engine.
UNWRITABLE_US = 2**63


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    opened = await Database.open(db_url)
    try:
        yield opened
    finally:
        await opened.close()


def impression(event_id: str, seq: int) -> EventOutcome:
    return EventOutcome(
        seq=seq,
        event_id=event_id,
        event_type=common_pb2.EVENT_TYPE_IMPRESSION,
        cart_id="c",
        session_id="s",
        event_blob=b"blob",
        ad_id=f"ad-{event_id}",
        advertiser_id="acme",
        campaign_id="c1",
        line_item_id="li1",
        billable=True,
        charge_micros=1_000,
    )


def upload_with_poison(count: int, poison_seq: int) -> list[EventOutcome]:
    outcomes = [impression(f"e{seq}", seq) for seq in range(1, count + 1)]
    outcomes[poison_seq - 1] = dataclasses.replace(outcomes[poison_seq - 1], occur_time_us=UNWRITABLE_US)
    return outcomes


async def billed_ids(db: Database) -> set[str]:
    return set(await db.read(lambda conn: [str(r[0]) for r in conn.execute(sa.select(schema.ledger.c.event_id))]))


async def dead_letters(db: Database) -> list[tuple[int, str, str]]:
    d = schema.dead_letters.c
    query = sa.select(d.seq, d.event_id, d.reason).order_by(d.seq)
    return await db.read(lambda conn: [(int(r[0]), str(r[1]), str(r[2])) for r in conn.execute(query)])


async def test_the_poison_event_alone_is_dead_lettered_and_the_rest_billed(db: Database) -> None:
    """Of 40 events with one the database refuses, 39 are billed and that one is a dead letter."""
    ledger = SqlLedger(db)
    result = await ledger.record_events("s1", "edge-1", upload_with_poison(40, poison_seq=23))
    await ledger.close()
    assert (result.billed_count, result.rejected_count) == (39, 1)
    assert await billed_ids(db) == {f"e{seq}" for seq in range(1, 41) if seq != 23}
    [(seq, event_id, reason)] = await dead_letters(db)
    assert (seq, event_id) == (23, "e23")
    assert reason.startswith("ingest failure: ")
    assert len(reason) <= 220


async def test_the_poison_event_is_logged_at_error_with_its_identity(db: Database) -> None:
    """The set-aside event is one error line naming its store, edge, seq and event id."""
    ledger = SqlLedger(db)
    with capture_logs() as logs:
        await ledger.record_events("s1", "edge-1", upload_with_poison(5, poison_seq=2))
    await ledger.close()
    [line] = [line for line in logs if line["event"] == "ingest_isolated"]
    assert (line["log_level"], line["store_id"], line["edge_id"], line["seq"], line["event_id"]) == (
        "error",
        "s1",
        "edge-1",
        2,
        "e2",
    )


async def test_uploads_committed_with_a_poisoned_one_are_billed_whole(db: Database) -> None:
    """Another edge's upload that shared the failed group commit is billed in full."""
    ledger = SqlLedger(db)
    poisoned, clean = await asyncio.gather(
        ledger.record_events("s1", "edge-1", upload_with_poison(10, poison_seq=5)),
        ledger.record_events("s1", "edge-2", [impression(f"x{seq}", seq) for seq in range(1, 11)]),
    )
    await ledger.close()
    assert (poisoned.billed_count, poisoned.rejected_count, clean.billed_count) == (9, 1, 10)


async def test_resending_a_poisoned_upload_bills_nothing_twice(db: Database) -> None:
    """The edge resending the same upload gets every event as a duplicate, the dead letter included."""
    ledger = SqlLedger(db)
    await ledger.record_events("s1", "edge-1", upload_with_poison(10, poison_seq=5))
    again = await ledger.record_events("s1", "edge-1", upload_with_poison(10, poison_seq=5))
    await ledger.close()
    assert (again.billed_count, again.duplicate_count, again.rejected_count) == (0, 10, 0)
    assert len(await dead_letters(db)) == 1


async def test_an_event_whose_id_cannot_be_stored_is_dead_lettered_by_its_seq(db: Database) -> None:
    """When even the dead letter's id is refused (NUL in PostgreSQL text), the event is kept under its seq."""
    ledger = SqlLedger(db)
    outcomes = upload_with_poison(3, poison_seq=2)
    outcomes[1] = dataclasses.replace(outcomes[1], event_id="e\x002")
    result = await ledger.record_events("s1", "edge-1", outcomes)
    await ledger.close()
    assert (result.billed_count, result.rejected_count) == (2, 1)
    assert [seq for seq, _, _ in await dead_letters(db)] == [2]


class _AwayDatabase:
    """A Database whose writes fail as a lost connection does."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.writes = 0

    async def write(self, fn: Callable[[Connection], T]) -> T:
        self.writes += 1
        raise sa.exc.OperationalError("INSERT ...", {}, ConnectionResetError("server closed the connection"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


async def test_a_database_that_is_away_answers_unavailable_and_dead_letters_nothing(db: Database) -> None:
    """A lost connection fails the upload with UNAVAILABLE after one attempt; no event is dead-lettered."""
    away = _AwayDatabase(db)
    ledger = SqlLedger(away)  # type: ignore[arg-type]
    with pytest.raises(UnavailableError):
        await ledger.record_events("s1", "edge-1", upload_with_poison(10, poison_seq=5))
    await ledger.close()
    assert away.writes == 1
    assert await dead_letters(db) == []
