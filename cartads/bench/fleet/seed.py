"""The fleet's database: a PostgreSQL database of its own (created, migrated by ``cartads-cloud
migrate``, dropped after), filled in bulk with COPY, and the tokens the operator and each store's edge
call with."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa

from cartads.bench.fleet.fixture import Fleet, StoreCatalog
from cartads.time_units import now_us
from cartads.v1 import admin_pb2
from cloud_core.access.api_tokens import issue_token
from cloud_core.access.policy import Role
from cloud_core.storage import schema as t
from cloud_core.storage.admin_rows import campaign_row, creative_row, line_item_row
from cloud_core.storage.cloud_store import SqlCloudStore

# Tokens are written a few at a time: each is its own transaction on the server.
_TOKEN_WRITERS = 8


class DatabaseUnavailableError(Exception):
    """The PostgreSQL server cannot be reached or refuses to make the bench database."""


@contextmanager
def fresh_database(server_dsn: str) -> Iterator[str]:
    """A new, uniquely named database on ``server_dsn``'s server, migrated to the newest schema; its DSN.
    Dropped afterwards, whatever is still connected."""
    name = f"cartads_fleet_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        with psycopg.connect(server_dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    except psycopg.Error as exc:
        raise DatabaseUnavailableError(f"PostgreSQL: {str(exc).strip().splitlines()[0]}") from exc
    dsn = str(sa.make_url(server_dsn).set(database=name).render_as_string(hide_password=False))
    try:
        subprocess.run(
            [sys.executable, "-m", "cloud_core.app.cli", "migrate", "--db", dsn], check=True, capture_output=True
        )
        yield dsn
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _copy(cur: psycopg.Cursor[tuple[object, ...]], table: sa.Table, rows: Iterable[Mapping[str, object]]) -> int:
    """COPY ``rows`` into ``table``; the columns are the first row's keys (column names of the schema)."""
    count = 0
    columns: list[str] = []
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    columns = list(first)
    unknown = set(columns) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name} has no columns {sorted(unknown)}")
    names = ", ".join(f'"{c}"' for c in columns)
    with cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in itertools.chain((first,), rows):
            copy.write_row([row[c] for c in columns])
            count += 1
    return count


def _store_row(own: StoreCatalog) -> dict[str, object]:
    s = own.store
    return {
        "store_id": s.store_id,
        "display_name": s.display_name,
        "time_zone": s.time_zone,
        "signing_key": own.signing_key,
        "create_time_us": 0,
    }


def _aisle_row(store_id: str, a: admin_pb2.Aisle) -> dict[str, object]:
    return {"store_id": store_id, "aisle_id": a.aisle_id, "display_name": a.display_name, "zone_id": a.zone_id}


def _department_row(store_id: str, d: admin_pb2.Department) -> dict[str, object]:
    return {"store_id": store_id, "department_id": d.department_id, "display_name": d.display_name}


def _product_row(store_id: str, p: admin_pb2.Product) -> dict[str, object]:
    return {
        "store_id": store_id,
        "product_id": p.product_id,
        "display_name": p.display_name,
        "aisle_id": p.aisle_id,
        "department_id": p.department_id,
        "brand": p.brand,
        "price_micros": p.price_micros,
    }


def seed_rows(dsn: str, fleet: Fleet) -> dict[str, int]:
    """Write the fleet in one transaction, table by table with COPY; rows written per table."""
    written: dict[str, int] = {}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        plan: list[tuple[sa.Table, Iterable[Mapping[str, object]]]] = [
            (t.stores, (_store_row(s) for s in fleet.stores)),
            (t.aisles, (_aisle_row(s.store.store_id, a) for s in fleet.stores for a in s.aisles)),
            (t.departments, (_department_row(s.store.store_id, d) for s in fleet.stores for d in s.departments)),
            (t.products, (_product_row(s.store.store_id, p) for s in fleet.stores for p in s.products)),
            (
                t.advertisers,
                ({"advertiser_id": a.advertiser_id, "display_name": a.display_name, "create_time_us": 0}
                 for a in fleet.advertisers),
            ),
            (t.campaigns, (campaign_row(c) for c in fleet.campaigns)),
            (t.creatives, (creative_row(c) for c in fleet.creatives)),
            (t.line_items, (line_item_row(li) for li in fleet.line_items)),
            (
                t.line_item_creatives,
                ({"line_item_id": li.line_item_id, "creative_id": cid, "position": i}
                 for li in fleet.line_items for i, cid in enumerate(li.creative_ids)),
            ),
            (
                t.line_item_stores,
                ({"line_item_id": li.line_item_id, "store_id": sid}
                 for li in fleet.line_items for sid in li.targeting.store_ids),
            ),
        ]  # fmt: skip
        for table, rows in plan:
            written[table.name] = _copy(cur, table, rows)
    return written


async def issue_tokens(dsn: str, store_ids: list[str]) -> tuple[str, dict[str, str]]:
    """An admin token, and per store an edge token bound to it (as `cartads-cloud create-token` makes them)."""
    store = await SqlCloudStore.open(dsn)
    try:
        _, admin = await issue_token(store.tokens, Role.ADMIN, now_us(), display_name="fleet bench operator")
        edge_tokens: dict[str, str] = {}
        gate = asyncio.Semaphore(_TOKEN_WRITERS)

        async def one(store_id: str) -> None:
            async with gate:
                _, secret = await issue_token(store.tokens, Role.EDGE, now_us(), store_id=store_id)
            edge_tokens[store_id] = secret

        await asyncio.gather(*(one(s) for s in store_ids))
    finally:
        await store.close()
    return admin, edge_tokens
