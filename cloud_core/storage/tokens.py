"""Bearer tokens in SQL (table ``api_tokens``), and what advertiser tokens are narrowed to: their line
items, and the assets they uploaded (table ``asset_uploaders``); and the audit trail of who changed
what with which token (table ``audit_entries``)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from cartads.bounds import clip
from cartads.rpc.errors import AlreadyExistsError, NotFoundError
from cartads.time_units import ts_to_us, us_to_ts
from cartads.v1 import admin_pb2
from cloud_core.access.api_tokens import TokenRecord, token_changes
from cloud_core.access.audit import AuditFilter
from cloud_core.access.policy import Role
from cloud_core.admin.pagination import PageRequest
from cloud_core.storage.schema import (
    advertisers,
    api_tokens,
    asset_uploaders,
    audit_entries,
    campaigns,
    line_items,
    stores,
)
from cloud_core.storage.sql.database import Database
from cloud_core.storage.sql.rows import exists, insert

_T = api_tokens.c


def _record(row: RowMapping) -> TokenRecord:
    return TokenRecord(
        token_id=row["token_id"],
        role=Role(row["role"]),
        advertiser_id=row["advertiser_id"],
        store_id=row["store_id"],
        display_name=row["display_name"],
        create_time_us=int(row["create_time_us"]),
        revoke_time_us=int(row["revoke_time_us"]),
    )


_COLUMNS = (
    _T.token_id,
    _T.role,
    _T.advertiser_id,
    _T.store_id,
    _T.display_name,
    _T.create_time_us,
    _T.revoke_time_us,
)


class SqlTokens:
    """The AccessStore Protocol (storage/protocol.py): bearer tokens (the TokenStore of
    cloud_core.access.api_tokens), and what advertiser tokens are narrowed to."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_api_token(
        self, record: TokenRecord, secret_sha256: str, audit: admin_pb2.AuditEntry | None = None
    ) -> None:
        """Store the token (and, with ``audit``, its audit entry in the same transaction)."""

        def _insert(conn: Connection) -> None:
            exists = conn.execute(sa.select(_T.token_id).where(_T.token_id == record.token_id)).first()
            if exists is not None:
                raise AlreadyExistsError(f"token {clip(record.token_id)!r} already exists", "token_id")
            conn.execute(
                api_tokens.insert().values(
                    token_id=record.token_id,
                    secret_sha256=secret_sha256,
                    role=record.role.value,
                    advertiser_id=record.advertiser_id,
                    store_id=record.store_id,
                    display_name=record.display_name,
                    create_time_us=record.create_time_us,
                    revoke_time_us=record.revoke_time_us,
                )
            )
            if audit is not None:
                insert_audit(conn, token_changes(audit, None, record, record.create_time_us))

        try:
            await self._db.write(_insert)
        except IntegrityError as exc:
            # Two replicas racing on the same client-given id.
            raise AlreadyExistsError(f"token {clip(record.token_id)!r} already exists", "token_id") from exc

    async def api_token_by_hash(self, secret_sha256: str) -> TokenRecord | None:
        def _select(conn: Connection) -> TokenRecord | None:
            row = conn.execute(sa.select(*_COLUMNS).where(_T.secret_sha256 == secret_sha256)).mappings().first()
            return None if row is None else _record(row)

        return await self._db.read(_select)

    async def get_api_token(self, token_id: str) -> TokenRecord | None:
        def _select(conn: Connection) -> TokenRecord | None:
            row = conn.execute(sa.select(*_COLUMNS).where(_T.token_id == token_id)).mappings().first()
            return None if row is None else _record(row)

        return await self._db.read(_select)

    async def list_api_tokens(self, page: PageRequest) -> list[TokenRecord]:
        """One page in token id order, with one extra row when there is a next page."""

        def _select(conn: Connection) -> list[TokenRecord]:
            query = sa.select(*_COLUMNS).where(_T.token_id > page.after_id).order_by(_T.token_id).limit(page.limit + 1)
            return [_record(row) for row in conn.execute(query).mappings()]

        return await self._db.read(_select)

    async def revoke_api_token(
        self, token_id: str, now_us: int, audit: admin_pb2.AuditEntry | None = None
    ) -> TokenRecord:
        """Revoke (idempotently: a second revocation keeps the first time) and return the token; with
        ``audit``, its audit entry is written in the same transaction."""

        def _revoke(conn: Connection) -> TokenRecord:
            found = conn.execute(sa.select(*_COLUMNS).where(_T.token_id == token_id)).mappings().first()
            conn.execute(
                api_tokens.update().where(_T.token_id == token_id, _T.revoke_time_us == 0).values(revoke_time_us=now_us)
            )
            row = conn.execute(sa.select(*_COLUMNS).where(_T.token_id == token_id)).mappings().first()
            if row is None or found is None:
                raise NotFoundError(f"token {clip(token_id)!r} does not exist", "token_id")
            if audit is not None:
                insert_audit(conn, token_changes(audit, _record(found), _record(row), now_us))
            return _record(row)

        return await self._db.write(_revoke)

    async def advertiser_line_item_ids(self, advertiser_id: str, campaign_id: str, page: PageRequest) -> list[str]:
        """Ids of the line items of ``advertiser_id``'s campaigns (of one campaign when given), one page + 1."""
        li, cmp = line_items.c, campaigns.c

        def _select(conn: Connection) -> list[str]:
            query = (
                sa.select(li.line_item_id)
                .join(campaigns, cmp.campaign_id == li.campaign_id)
                .where(cmp.advertiser_id == advertiser_id, li.line_item_id > page.after_id)
            )
            if campaign_id:
                query = query.where(li.campaign_id == campaign_id)
            query = query.order_by(li.line_item_id).limit(page.limit + 1)
            return [str(r[0]) for r in conn.execute(query)]

        return await self._db.read(_select)

    async def add_asset_uploader(self, sha256: str, advertiser_id: str) -> None:
        """Record that ``advertiser_id`` uploaded the asset (idempotent)."""

        def _insert(conn: Connection) -> None:
            conn.execute(
                insert(conn, asset_uploaders)
                .values(sha256=sha256, advertiser_id=advertiser_id)
                .on_conflict_do_nothing()
            )

        await self._db.write(_insert)

    async def uploaded_by(self, sha256: str, advertiser_id: str) -> bool:
        """Whether ``advertiser_id`` ever uploaded the asset ``sha256``."""
        c = asset_uploaders.c

        def _select(conn: Connection) -> bool:
            query = sa.select(c.sha256).where(c.sha256 == sha256, c.advertiser_id == advertiser_id)
            return conn.execute(query).first() is not None

        return await self._db.read(_select)

    async def binding_exists(self, advertiser_id: str, store_id: str) -> tuple[bool, bool]:
        """(the advertiser exists or none is named, the store exists or none is named): what
        ``cartads-cloud create-token`` checks before binding a token."""

        def _select(conn: Connection) -> tuple[bool, bool]:
            adv = not advertiser_id or exists(conn, advertisers.c.advertiser_id, advertiser_id)
            store = not store_id or exists(conn, stores.c.store_id, store_id)
            return adv, store

        return await self._db.read(_select)


_AU = audit_entries.c
_AUDIT_COLUMNS = (
    _AU.seq,
    _AU.time_us,
    _AU.actor_token_id,
    _AU.actor_display_name,
    _AU.actor_role,
    _AU.method,
    _AU.resource_type,
    _AU.resource_id,
    _AU.changes_json,
)


def _audit_entry(row: RowMapping) -> admin_pb2.AuditEntry:
    return admin_pb2.AuditEntry(
        audit_entry_id=str(row["seq"]),
        time=us_to_ts(int(row["time_us"])),
        actor_token_id=row["actor_token_id"],
        actor_display_name=row["actor_display_name"],
        actor_role=row["actor_role"],
        method=row["method"],
        resource_type=row["resource_type"],
        resource_id=row["resource_id"],
        changes=[admin_pb2.AuditFieldChange(field=f, before=b, after=a) for f, b, a in json.loads(row["changes_json"])],
    )


def insert_audit(conn: Connection, entry: admin_pb2.AuditEntry) -> None:
    """Append ``entry`` in ``conn``'s transaction (the trail's sequence number becomes its id)."""
    values = {
        "time_us": ts_to_us(entry.time),
        "actor_token_id": entry.actor_token_id,
        "actor_display_name": entry.actor_display_name,
        "actor_role": entry.actor_role,
        "method": entry.method,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "changes_json": json.dumps([[c.field, c.before, c.after] for c in entry.changes]),
    }
    conn.execute(audit_entries.insert().values(**values))


class SqlAudit:
    """The AuditStore Protocol (storage/protocol.py): an append-only trail, read newest first."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_audit(self, entry: admin_pb2.AuditEntry) -> None:
        """Append ``entry`` (its id is the trail's sequence number, given here)."""
        await self._db.write(lambda conn: insert_audit(conn, entry))

    async def list_audit(self, query: AuditFilter, page: PageRequest) -> list[admin_pb2.AuditEntry]:
        """One page newest first (after ``page.after_id``, an entry id), with one extra row when there is more."""
        where = [
            column == value
            for column, value in (
                (_AU.resource_type, query.resource_type),
                (_AU.resource_id, query.resource_id),
                (_AU.actor_token_id, query.actor_token_id),
            )
            if value
        ]
        if query.since_us:
            where.append(_AU.time_us >= query.since_us)
        if page.after_id:
            where.append(_AU.seq < int(page.after_id))
        select = sa.select(*_AUDIT_COLUMNS).where(*where).order_by(_AU.seq.desc()).limit(page.limit + 1)
        return await self._db.read(lambda conn: [_audit_entry(r) for r in conn.execute(select).mappings()])
