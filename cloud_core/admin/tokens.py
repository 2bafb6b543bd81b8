"""AdminService.CreateApiToken / ListApiTokens / RevokeApiToken (admin tokens only; see access_policy)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from cartads.rpc.errors import Ctx, InvalidArgumentError, NotFoundError, maps_errors
from cartads.time_units import dt_to_us
from cartads.v1 import admin_pb2
from cloud_core.access.api_tokens import PROTO_TO_ROLE, TokenStore, issue_token
from cloud_core.access.policy import Role, validate_new_token
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, next_token


class _ForTokens(Protocol):
    """What the mixin reads from AdminServicer."""

    @property
    def _store(self) -> _TokenAndOwnerStore: ...
    @property
    def _clock(self) -> Callable[[], datetime]: ...
    @property
    def _on_revoke(self) -> Callable[[Sequence[str]], None]: ...


class _TokenAndOwnerStore(TokenStore, Protocol):
    async def get_advertiser(self, advertiser_id: str) -> admin_pb2.Advertiser | None: ...
    async def get_store(self, store_id: str) -> admin_pb2.Store | None: ...


async def check_token_binding(store: _TokenAndOwnerStore, token: admin_pb2.ApiToken) -> Role:
    """The new token's role; INVALID_ARGUMENT or NOT_FOUND unless its advertiser or store is right."""
    role = PROTO_TO_ROLE.get(int(token.role))
    violations = validate_new_token(role, token.advertiser_id, token.store_id)
    if len(token.display_name) > v.MAX_NAME_CHARS:
        violations.append(("api_token.display_name", f"must be at most {v.MAX_NAME_CHARS} characters"))
    if violations:
        raise InvalidArgumentError(violations)
    assert role is not None
    if token.advertiser_id and await store.get_advertiser(token.advertiser_id) is None:
        raise NotFoundError(f"advertiser {token.advertiser_id!r} does not exist", "api_token.advertiser_id")
    if token.store_id and await store.get_store(token.store_id) is None:
        raise NotFoundError(f"store {token.store_id!r} does not exist", "api_token.store_id")
    return role


class TokenAdminMixin:
    """Mixed into AdminServicer."""

    @maps_errors
    async def CreateApiToken(  # noqa: N802
        self: _ForTokens, request: admin_pb2.CreateApiTokenRequest, context: Ctx
    ) -> admin_pb2.CreateApiTokenResponse:
        token_id = request.token_id or request.api_token.token_id
        if token_id:
            violations = v.check_id(token_id, "token_id")
            if violations:
                raise InvalidArgumentError(violations)
        role = await check_token_binding(self._store, request.api_token)
        record, secret = await issue_token(
            self._store,
            role,
            dt_to_us(self._clock()),
            advertiser_id=request.api_token.advertiser_id,
            store_id=request.api_token.store_id,
            display_name=request.api_token.display_name,
            token_id=token_id,
        )
        return admin_pb2.CreateApiTokenResponse(api_token=record.to_proto(), secret=secret)

    @maps_errors
    async def ListApiTokens(  # noqa: N802
        self: _ForTokens, request: admin_pb2.ListApiTokensRequest, context: Ctx
    ) -> admin_pb2.ListApiTokensResponse:
        query = "api_tokens"
        page = decode_request(request.page_size, request.page_token, query)
        rows = await self._store.list_api_tokens(page)
        token = next_token([r.token_id for r in rows], page.limit, query)
        return admin_pb2.ListApiTokensResponse(
            api_tokens=[r.to_proto() for r in rows[: page.limit]], next_page_token=token
        )

    @maps_errors
    async def RevokeApiToken(  # noqa: N802
        self: _ForTokens, request: admin_pb2.RevokeApiTokenRequest, context: Ctx
    ) -> admin_pb2.RevokeApiTokenResponse:
        if not request.token_id:
            raise InvalidArgumentError([("token_id", "is required")])
        record = await self._store.revoke_api_token(request.token_id, dt_to_us(self._clock()))
        self._on_revoke([record.token_id])
        return admin_pb2.RevokeApiTokenResponse(api_token=record.to_proto())
