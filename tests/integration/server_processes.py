"""What the tests that run cloud and edge as real OS processes share: a free port, the bootstrap
token an operator makes with ``cartads-cloud create-token``, the store's shared key read from the
SQLite file, and the ad the signed test events are decisions of."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import sys
from pathlib import Path

from cartads.bench.cloud.signed_events import AdOrigin
from tests.cloud_core.helpers import STORE_ID

ORIGIN = AdOrigin(
    store_id=STORE_ID,
    campaign_id="c1",
    line_item_id="li1",
    creative_id="cr1",
    advertiser_id="acme",
    price_micros=5_000_000,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def signing_key(db_path: Path) -> bytes:
    """The store's shared signing key, read from the cloud's SQLite file."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        return bytes(conn.execute("SELECT signing_key FROM stores WHERE store_id = ?", (STORE_ID,)).fetchone()[0])


async def create_token_cli(db_path: Path, *args: str) -> str:
    """``cartads-cloud create-token --db DB ARGS``: the secret it prints (how an operator bootstraps)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cloud_core.app.cli",
        "create-token",
        "--db",
        str(db_path),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return out.decode().strip()
