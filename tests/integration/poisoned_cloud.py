"""The real cloud process (``cartads-cloud``) over a database that refuses what a test tells it to.

A test double for faults the bounds leave no way to cause from outside: the ledger's write of an
upload fails with ``DataError`` when it holds the event id in ``CARTADS_TEST_POISON_EVENT_ID`` (as a
value no column holds would), and with ``OperationalError`` while the file named by
``CARTADS_TEST_DATABASE_DOWN_FILE`` exists (as a lost connection would). Everything else is the
cloud as shipped.

    python -m tests.integration.poisoned_cloud --db DB --listen HOST:PORT
"""

from __future__ import annotations

import os
import sys
from typing import Any

import sqlalchemy as sa

from cloud_core.app import cli
from cloud_core.storage import ledger

POISON_EVENT_ID = os.environ.get("CARTADS_TEST_POISON_EVENT_ID", "")
DATABASE_DOWN_FILE = os.environ.get("CARTADS_TEST_DATABASE_DOWN_FILE", "")
_record_in_tx = ledger.record_in_tx


def record_in_tx(conn: Any, upload: ledger.Upload, ingest_us: int) -> Any:
    if DATABASE_DOWN_FILE and os.path.exists(DATABASE_DOWN_FILE):
        raise sa.exc.OperationalError("INSERT INTO events", {}, ConnectionResetError("the database went away"))
    if POISON_EVENT_ID and any(o.event_id == POISON_EVENT_ID for o in upload.outcomes):
        raise sa.exc.DataError("INSERT INTO events", {}, ValueError("a value no column holds"))
    return _record_in_tx(conn, upload, ingest_us)


if __name__ == "__main__":
    ledger.record_in_tx = record_in_tx
    sys.exit(cli.main())
