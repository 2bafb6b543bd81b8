"""The shell around ``access_policy``: a grpc.aio server interceptor that authenticates every call.

AdminService needs an operator token (admin, advertiser or viewer) allowed by the method table; an
advertiser token's requests are checked against the owners of the resources they name, and its list
filters are forced to its own advertiser. The edge services (IndexSyncService, EventIngestService,
AssetService) take an edge certificate or an edge token; which store a call may act for is decided
by ``require_store`` once the handler knows the store. Health and reflection stay open.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from typing import Any, Protocol

import grpc
import structlog
from google.protobuf.message import Message

from cartads import bounds
from cartads.ops.logs import LogBudget, clip
from cartads.rpc.errors import (
    CartAdsError,
    InvalidArgumentError,
    PermissionDeniedError,
    UnauthenticatedError,
    abort_with,
)
from cartads.rpc.runtime import MethodWrappingInterceptor
from cartads.rpc.tls import peer_identity
from cartads.v1 import admin_pb2
from cloud_core.access import policy
from cloud_core.access.api_tokens import TokenAuthenticator

log = structlog.get_logger("cloud.auth")

ADMIN_SERVICE = "cartads.v1.AdminService"
EDGE_SERVICES = frozenset({"cartads.v1.IndexSyncService", "cartads.v1.EventIngestService", "cartads.v1.AssetService"})
Ctx = grpc.aio.ServicerContext[Any, Any]

_principal: contextvars.ContextVar[policy.Principal | None] = contextvars.ContextVar("principal", default=None)
_edge_caller: contextvars.ContextVar[policy.EdgeCaller | None] = contextvars.ContextVar("edge_caller", default=None)


def current_principal() -> policy.Principal | None:
    """The authenticated caller of the call being handled (None outside an authenticated call)."""
    return _principal.get()


def scoped_advertiser() -> str:
    """The advertiser an advertiser token is bound to; "" for every other caller."""
    principal = _principal.get()
    return principal.advertiser_id if principal and principal.role is policy.Role.ADVERTISER else ""


def current_edge_caller(context: Ctx) -> policy.EdgeCaller:
    """Who calls an edge service: as the interceptor found it, or (no interceptor) from the TLS peer alone."""
    caller = _edge_caller.get()
    if caller is not None:
        return caller
    identity = peer_identity(context.auth_context())
    return policy.EdgeCaller(tls=identity.tls, cert_stores=identity.stores)


def raise_for(decision: policy.Decision, field: str = "") -> None:
    """Raise the CartAdsError a refused decision stands for."""
    if decision.outcome is policy.Outcome.UNAUTHENTICATED:
        raise UnauthenticatedError(decision.reason)
    if decision.outcome is policy.Outcome.PERMISSION_DENIED:
        raise PermissionDeniedError(decision.reason, field)


class OwnerLookup(Protocol):
    """Enough of the store to find which advertiser owns a campaign, line item or creative."""

    async def get_campaign(self, campaign_id: str) -> admin_pb2.Campaign | None: ...
    async def get_line_item(self, line_item_id: str) -> admin_pb2.LineItem | None: ...
    async def get_creative(self, creative_id: str) -> admin_pb2.CreativeSpec | None: ...


async def _owner(store: OwnerLookup, ref: policy.Ref) -> str | None:
    if not ref.resource_id:
        return None
    if ref.kind is policy.RefKind.ADVERTISER:
        return ref.resource_id
    if ref.kind is policy.RefKind.CAMPAIGN:
        campaign = await store.get_campaign(ref.resource_id)
        return None if campaign is None else campaign.advertiser_id
    if ref.kind is policy.RefKind.CREATIVE:
        creative = await store.get_creative(ref.resource_id)
        return None if creative is None else creative.advertiser_id
    item = await store.get_line_item(ref.resource_id)
    if item is None:
        return None
    return await _owner(store, policy.Ref(policy.RefKind.CAMPAIGN, item.campaign_id, ref.field))


async def check_advertiser_request(
    store: OwnerLookup, principal: policy.Principal, method: str, request: object
) -> None:
    """Force an advertiser token's list filter to its own advertiser and check it owns what it names."""
    if principal.role is not policy.Role.ADVERTISER:
        return
    filter_field = policy.ADVERTISER_FILTERS.get(method)
    if filter_field is not None:
        raise_for(policy.check_filter(principal, method, str(getattr(request, filter_field))), filter_field)
        setattr(request, filter_field, principal.advertiser_id)
    refs = policy.references(method, request)
    owners = [(ref, await _owner(store, ref)) for ref in refs]
    raise_for(policy.check_owners(principal, owners))


def _bearer(context: Ctx) -> str | None:
    values = [str(v) for k, v in (context.invocation_metadata() or ()) if k == "authorization"]
    return policy.bearer_secret(values)


class AuthInterceptor(MethodWrappingInterceptor):
    """Authenticates each call before its handler runs; see the module docstring for the rules."""

    def __init__(self, authenticator: TokenAuthenticator, owners: OwnerLookup) -> None:
        super().__init__()
        self._authenticator = authenticator
        self._owners = owners

    def wrap(self, handler: grpc.RpcMethodHandler[Any, Any], method: str) -> grpc.RpcMethodHandler[Any, Any] | None:
        service, _, name = method.lstrip("/").rpartition("/")
        if service != ADMIN_SERVICE and service not in EDGE_SERVICES:
            return None  # health and reflection stay open
        return _wrap(handler, self._checker(service, name), method)

    def _checker(self, service: str, method: str) -> Callable[[object | None, Ctx], Awaitable[None]]:
        async def check(request: object | None, context: Ctx) -> None:
            principal = await self._principal(context)
            _principal.set(principal)
            if service == ADMIN_SERVICE:
                raise_for(policy.authorize_admin_call(principal, method))
                if isinstance(request, Message) and (text_problems := bounds.nul_violations(request)):
                    # An operator's strings are stored as sent: one PostgreSQL cannot hold is bad input.
                    raise InvalidArgumentError(text_problems[:20])
                if principal is not None and request is not None:
                    await check_advertiser_request(self._owners, principal, method, request)
                return
            identity = peer_identity(context.auth_context())
            caller = policy.EdgeCaller(tls=identity.tls, cert_stores=identity.stores, principal=principal)
            _edge_caller.set(caller)
            raise_for(policy.authorize_edge_call(caller))

        return check

    async def _principal(self, context: Ctx) -> policy.Principal | None:
        secret = _bearer(context)
        if secret is None:
            return None
        if not secret:
            raise UnauthenticatedError("the authorization header must be 'Bearer <token>'")
        principal = await self._authenticator.authenticate(secret)
        if principal is None:
            raise UnauthenticatedError("the bearer token is unknown or revoked")
        return principal

    def forget(self, token_ids: Sequence[str]) -> None:
        """Forget cached answers for revoked tokens (AdminServicer calls this on RevokeApiToken)."""
        self._authenticator.forget(token_ids)


def _report_suppressed(key: Hashable, count: int) -> None:
    method, code = key if isinstance(key, tuple) else ("", str(key))
    log.info("rpc_refused_suppressed", method=method, code=code, count=count)


# A flood of refused calls (a wrong token in a loop) logs at most a few lines a second per method and code.
_refusal_lines = LogBudget(_report_suppressed)


Check = Callable[[object | None, Ctx], Awaitable[None]]


async def _checked(check: Check, request: object | None, ctx: Ctx, method: str) -> None:
    try:
        await check(request, ctx)
    except CartAdsError as error:
        if _refusal_lines.allow((method, error.code.name)):
            log.info("rpc_refused", method=method, code=error.code.name, why=clip(error.message))
        await abort_with(ctx, error)


def _wrap(handler: grpc.RpcMethodHandler[Any, Any], check: Check, method: str) -> grpc.RpcMethodHandler[Any, Any]:
    """``handler`` with ``check`` run first (on the request, for unary requests) in the handler's own task."""
    ser = {"request_deserializer": handler.request_deserializer, "response_serializer": handler.response_serializer}
    if handler.unary_unary is not None:
        # The stubs type handlers as synchronous; these are grpc.aio coroutines.
        inner_uu: Any = handler.unary_unary

        async def unary_unary(request: Any, ctx: Ctx) -> Any:
            await _checked(check, request, ctx, method)
            return await inner_uu(request, ctx)

        return grpc.unary_unary_rpc_method_handler(unary_unary, **ser)
    if handler.stream_unary is not None:
        inner_su: Any = handler.stream_unary

        async def stream_unary(requests: AsyncIterator[Any], ctx: Ctx) -> Any:
            await _checked(check, None, ctx, method)
            return await inner_su(requests, ctx)

        return grpc.stream_unary_rpc_method_handler(stream_unary, **ser)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(_streaming(handler.unary_stream, check, method, unary=True), **ser)
    assert handler.stream_stream is not None
    return grpc.stream_stream_rpc_method_handler(_streaming(handler.stream_stream, check, method, unary=False), **ser)


def _streaming(inner: Any, check: Check, method: str, *, unary: bool) -> Any:
    """A response-streaming behaviour: an async generator when ``inner`` is one, else a coroutine."""
    if inspect.isasyncgenfunction(inner):

        async def generator(request: Any, ctx: Ctx) -> AsyncIterator[Any]:
            await _checked(check, request if unary else None, ctx, method)
            async for response in inner(request, ctx):
                yield response

        return generator

    async def coroutine(request: Any, ctx: Ctx) -> Any:
        await _checked(check, request if unary else None, ctx, method)
        return await inner(request, ctx)

    return coroutine
