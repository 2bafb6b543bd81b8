"""AdminService's API tokens: create, list, revoke (admin tokens only; see ``cloud_core.access.policy``);
and the audit trail of who changed what with them: ``AuditRecorder`` writes an entry after each change
(the servicer calls it), ``AuditAdmin`` serves ListAuditEntries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import structlog
from google.protobuf.message import Message

from cartads.bounds import clip
from cartads.rpc.errors import InvalidArgumentError, NotFoundError
from cartads.time_units import dt_to_ts, dt_to_us, ts_to_us
from cartads.v1 import admin_pb2
from cloud_core.access.api_tokens import PROTO_TO_ROLE, TokenStore, issue_token
from cloud_core.access.audit import AUDITED, AuditFilter, check_audit_filter, field_at, field_changes
from cloud_core.access.auth import current_principal
from cloud_core.access.policy import Role, validate_new_token
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, next_token
from cloud_core.admin.request_checks import raise_if
from cloud_core.storage.protocol import AdvertiserStore, AuditStore, CatalogStore

log = structlog.get_logger("cloud.audit")


async def check_token_binding(advertisers: AdvertiserStore, catalog: CatalogStore, token: admin_pb2.ApiToken) -> Role:
    """The new token's role; INVALID_ARGUMENT or NOT_FOUND unless its advertiser or store is right."""
    role = PROTO_TO_ROLE.get(int(token.role))
    violations = validate_new_token(role, token.advertiser_id, token.store_id)
    if len(token.display_name) > v.MAX_NAME_CHARS:
        violations.append(("api_token.display_name", f"must be at most {v.MAX_NAME_CHARS} characters"))
    raise_if(violations)
    assert role is not None
    if token.advertiser_id and await advertisers.get_advertiser(token.advertiser_id) is None:
        raise NotFoundError(f"advertiser {clip(token.advertiser_id)!r} does not exist", "api_token.advertiser_id")
    if token.store_id and await catalog.get_store(token.store_id) is None:
        raise NotFoundError(f"store {clip(token.store_id)!r} does not exist", "api_token.store_id")
    return role


class TokenAdmin:
    """The token methods; a secret leaves the cloud once, in CreateApiToken's answer."""

    def __init__(
        self,
        tokens: TokenStore,
        advertisers: AdvertiserStore,
        catalog: CatalogStore,
        clock: Callable[[], datetime],
        on_revoke: Callable[[Sequence[str]], None],
    ) -> None:
        self._tokens = tokens
        self._advertisers = advertisers
        self._catalog = catalog
        self._clock = clock
        # Tells the token cache of this replica to forget a token the moment it is revoked.
        self._on_revoke = on_revoke

    async def _audit(self, method: str) -> admin_pb2.AuditEntry:
        """Who is issuing or revoking: the store writes it with the token, in one transaction."""
        return await actor_entry(self._tokens, method)

    async def create(self, request: admin_pb2.CreateApiTokenRequest) -> admin_pb2.CreateApiTokenResponse:
        token_id = request.token_id or request.api_token.token_id
        if token_id:
            raise_if(v.check_id(token_id, "token_id"))
        role = await check_token_binding(self._advertisers, self._catalog, request.api_token)
        record, secret = await issue_token(
            self._tokens,
            role,
            dt_to_us(self._clock()),
            advertiser_id=request.api_token.advertiser_id,
            store_id=request.api_token.store_id,
            display_name=request.api_token.display_name,
            token_id=token_id,
            audit=await self._audit("CreateApiToken"),
        )
        return admin_pb2.CreateApiTokenResponse(api_token=record.to_proto(), secret=secret)

    async def list_page(self, request: admin_pb2.ListApiTokensRequest) -> admin_pb2.ListApiTokensResponse:
        query = "api_tokens"
        page = decode_request(request.page_size, request.page_token, query)
        rows = await self._tokens.list_api_tokens(page)
        token = next_token([r.token_id for r in rows], page.limit, query)
        return admin_pb2.ListApiTokensResponse(
            api_tokens=[r.to_proto() for r in rows[: page.limit]], next_page_token=token
        )

    async def revoke(self, request: admin_pb2.RevokeApiTokenRequest) -> admin_pb2.RevokeApiTokenResponse:
        if not request.token_id:
            raise InvalidArgumentError([("token_id", "is required")])
        audit = await self._audit("RevokeApiToken")
        record = await self._tokens.revoke_api_token(request.token_id, dt_to_us(self._clock()), audit)
        self._on_revoke([record.token_id])
        return admin_pb2.RevokeApiTokenResponse(api_token=record.to_proto())


async def actor_entry(tokens: TokenStore, method: str) -> admin_pb2.AuditEntry:
    """An audit entry naming ``method`` and the caller: its token id, display name and role."""
    entry = admin_pb2.AuditEntry(method=method)
    principal = current_principal()
    if principal is not None:
        token = await tokens.get_api_token(principal.token_id)
        entry.actor_token_id = principal.token_id
        entry.actor_role = principal.role.value
        entry.actor_display_name = token.display_name if token else ""
    return entry


# Reads a resource as it is before a change: (its id) -> the resource, or None.
BeforeReader = Callable[[str], Awaitable[Message | None]]


class AuditRecorder:
    """Writes the audit entry of one AdminService change once it has succeeded.

    The entry is its own write right after the change commits (each part writes through its own store
    calls, so no one transaction spans both): a crash between the two loses that entry, never a change
    its entry claims. Tokens are the exception: ``TokenAdmin`` hands the entry to the token store,
    which writes it in the token's own transaction. A failure to record is logged as an error and the
    change still answered: it is committed, and a caller told otherwise would retry a create into
    ALREADY_EXISTS.
    """

    def __init__(self, audit: AuditStore, tokens: TokenStore, clock: Callable[[], datetime]) -> None:
        self._audit = audit
        self._tokens = tokens
        self._clock = clock

    async def record(self, method: str, request: object, before: Message | None, response: Message) -> None:
        try:
            await self._record(method, request, before, response)
        except Exception:
            log.exception("audit_record_failed", method=method)

    async def _record(self, method: str, request: object, before: Message | None, response: Message) -> None:
        rule = AUDITED[method]
        after = getattr(response, rule.response_resource) if rule.response_resource else None
        if after is None and method == "ImportCatalog":
            after = response  # the counts imported
        resource_id = field_at(request, rule.request_id) if isinstance(request, Message) else ""
        resource_id = resource_id or field_at(response, rule.response_id)
        entry = await actor_entry(self._tokens, method)
        entry.time.CopyFrom(dt_to_ts(self._clock()))
        entry.resource_type, entry.resource_id = rule.resource_type, resource_id
        entry.changes.extend(
            admin_pb2.AuditFieldChange(field=f, before=b, after=a) for f, b, a in field_changes(before, after)
        )
        await self._audit.record_audit(entry)


class AuditAdmin:
    """ListAuditEntries: the trail newest first, filtered (admin and viewer tokens; see the policy)."""

    def __init__(self, audit: AuditStore) -> None:
        self._audit = audit

    async def list_page(self, request: admin_pb2.ListAuditEntriesRequest) -> admin_pb2.ListAuditEntriesResponse:
        since_us = ts_to_us(request.since_time) if request.HasField("since_time") else 0
        query = AuditFilter(request.resource_type, request.resource_id, request.actor_token_id, since_us)
        raise_if(check_audit_filter(query))
        key = f"audit:{query.resource_type}:{query.resource_id}:{query.actor_token_id}:{since_us}"
        page = decode_request(request.page_size, request.page_token, key)
        if page.after_id and not page.after_id.isdigit():
            raise InvalidArgumentError([("page_token", "is not a token this server issued")])
        rows = await self._audit.list_audit(query, page)
        token = next_token([r.audit_entry_id for r in rows], page.limit, key)
        return admin_pb2.ListAuditEntriesResponse(audit_entries=rows[: page.limit], next_page_token=token)
