"""AdminService's API tokens: create, list, revoke (admin tokens only; see ``cloud_core.access.policy``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from cartads.bounds import clip
from cartads.rpc.errors import InvalidArgumentError, NotFoundError
from cartads.time_units import dt_to_us
from cartads.v1 import admin_pb2
from cloud_core.access.api_tokens import PROTO_TO_ROLE, TokenStore, issue_token
from cloud_core.access.policy import Role, validate_new_token
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, next_token
from cloud_core.admin.request_checks import raise_if
from cloud_core.storage.protocol import AdvertiserStore, CatalogStore


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
        record = await self._tokens.revoke_api_token(request.token_id, dt_to_us(self._clock()))
        self._on_revoke([record.token_id])
        return admin_pb2.RevokeApiTokenResponse(api_token=record.to_proto())
