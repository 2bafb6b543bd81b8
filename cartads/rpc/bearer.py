"""Channels that send ``authorization: Bearer <token>`` on every call: the one way clients authenticate.

Used by cartads-admin (sync), the edge's channel to the cloud, the demo, the benchmarks and the tests.
A client interceptor rather than call credentials, because call credentials need TLS and a store's
edge may reach the cloud in plaintext (behind its own VPN) with only an edge token.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

HEADER = "authorization"
ENV_TOKEN = "CARTADS_TOKEN"

ChannelOptions = Sequence[tuple[str, Any]]


def bearer_value(token: str) -> str:
    return f"Bearer {token}"


def read_token(token: str | None, token_file: str | None, env: str = ENV_TOKEN) -> str | None:
    """The token given directly, else the first line of ``token_file``, else ``$env``; None when none is."""
    if token:
        return token.strip()
    if token_file:
        text = Path(token_file).read_text().strip()
        if not text:
            raise ValueError(f"token file {token_file} is empty")
        return text.splitlines()[0].strip()
    from_env = os.environ.get(env, "").strip()
    return from_env or None


# ---- grpc.aio ----

if TYPE_CHECKING:
    _UnaryUnary = grpc.aio.UnaryUnaryClientInterceptor[Any, Any]
    _UnaryStream = grpc.aio.UnaryStreamClientInterceptor[Any, Any]
    _StreamUnary = grpc.aio.StreamUnaryClientInterceptor[Any, Any]
    _StreamStream = grpc.aio.StreamStreamClientInterceptor[Any, Any]
else:
    _UnaryUnary = grpc.aio.UnaryUnaryClientInterceptor
    _UnaryStream = grpc.aio.UnaryStreamClientInterceptor
    _StreamUnary = grpc.aio.StreamUnaryClientInterceptor
    _StreamStream = grpc.aio.StreamStreamClientInterceptor


def _aio_details(details: grpc.aio.ClientCallDetails, value: str) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    metadata.add(HEADER, value)
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )


class _AioUnaryUnary(_UnaryUnary):
    def __init__(self, value: str) -> None:
        self._value = value

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(_aio_details(client_call_details, self._value), request)


class _AioUnaryStream(_UnaryStream):
    def __init__(self, value: str) -> None:
        self._value = value

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(_aio_details(client_call_details, self._value), request)


class _AioStreamUnary(_StreamUnary):
    def __init__(self, value: str) -> None:
        self._value = value

    async def intercept_stream_unary(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return await continuation(_aio_details(client_call_details, self._value), request_iterator)


class _AioStreamStream(_StreamStream):
    def __init__(self, value: str) -> None:
        self._value = value

    async def intercept_stream_stream(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return await continuation(_aio_details(client_call_details, self._value), request_iterator)


def _aio_interceptors(token: str) -> Any:
    # One object per call kind: grpc.aio files each interceptor under the first kind it matches only.
    value = bearer_value(token)
    return [_AioUnaryUnary(value), _AioUnaryStream(value), _AioStreamUnary(value), _AioStreamStream(value)]


def aio_channel(
    target: str,
    token: str | None = None,
    *,
    credentials: grpc.ChannelCredentials | None = None,
    options: ChannelOptions = (),
) -> grpc.aio.Channel:
    """A grpc.aio channel (TLS when ``credentials`` are given) that sends ``token`` on every call, if any."""
    interceptors = _aio_interceptors(token) if token else None
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=list(options), interceptors=interceptors)
    return grpc.aio.secure_channel(target, credentials, options=list(options), interceptors=interceptors)


# ---- sync grpc ----


@dataclass(frozen=True)
class _SyncDetails(grpc.ClientCallDetails):
    method: str
    timeout: float | None
    metadata: tuple[tuple[str, str | bytes], ...] | None
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class _SyncBearer(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamStreamClientInterceptor,  # type: ignore[type-arg]
):
    def __init__(self, token: str) -> None:
        self._value = bearer_value(token)

    def _details(self, details: Any) -> _SyncDetails:
        metadata = (*(details.metadata or ()), (HEADER, self._value))
        return _SyncDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return continuation(self._details(client_call_details), request_iterator)

    def intercept_stream_stream(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return continuation(self._details(client_call_details), request_iterator)


def sync_channel(
    target: str,
    token: str | None = None,
    *,
    credentials: grpc.ChannelCredentials | None = None,
    options: ChannelOptions = (),
) -> grpc.Channel:
    """A blocking channel (TLS when ``credentials`` are given) that sends ``token`` on every call, if any."""
    if credentials is None:
        channel = grpc.insecure_channel(target, options=list(options))
    else:
        channel = grpc.secure_channel(target, credentials, options=list(options))
    if not token:
        return channel
    return grpc.intercept_channel(channel, _SyncBearer(token))
