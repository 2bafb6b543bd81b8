"""The cart's enrolled credential: read from the file ``cartads-admin carts enroll --out`` wrote, and
sent with every AdService call.

A credential the edge refuses (UNAUTHENTICATED: unknown, revoked or mistyped; PERMISSION_DENIED:
another store's, or a cart id that is not the credential's) cannot start working by trying again:
``CredentialedAdService`` raises ``CredentialRefusedError`` instead of letting the session retry
(or drop the events it holds), so the operator sees one clear line and the outbox keeps the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

import grpc

from cart_client.app.session import AdServiceClient, StoreInfoClient
from cartads import credential_file
from cartads.credential_file import CartCredentialEntry
from cartads.v1 import ad_service_pb2

_REFUSED = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})


class CredentialError(Exception):
    """The credential file cannot be used (its message is one line for the operator, no secret)."""


class CredentialRefusedError(CredentialError):
    """The edge refused the cart's credential; retrying cannot help."""


def load_entries(path: Path) -> list[CartCredentialEntry]:
    """The credentials of a credential file, or of every ``*.json`` file in a directory."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise CredentialError(f"no *.json credential files in {path}")
    entries: list[CartCredentialEntry] = []
    for file in files:
        try:
            entries.extend(credential_file.read(file))
        except FileNotFoundError:
            raise CredentialError(f"credential file {file} does not exist") from None
        except OSError as exc:
            raise CredentialError(f"cannot read credential file {file}: {exc.strerror or exc}") from None
        except credential_file.CredentialFileError as exc:
            raise CredentialError(f"credential file {file} is not usable: {exc}") from None
    return entries


def choose(entries: Sequence[CartCredentialEntry], store_id: str, cart_id: str | None) -> CartCredentialEntry:
    """The entry of ``cart_id`` (or the only one) for ``store_id``; CredentialError when there is none."""
    mine = [e for e in entries if e.store_id == store_id]
    if not mine:
        raise CredentialError(f"the credential file holds no cart of store {store_id!r}")
    if cart_id is not None:
        for entry in mine:
            if entry.cart_id == cart_id:
                return entry
        raise CredentialError(f"the credential file holds no credential for cart {cart_id!r}")
    if len(mine) > 1:
        raise CredentialError("the credential file holds several carts: say which with --cart")
    return mine[0]


class CredentialedAdService:
    """An AdService client that sends the cart's credential with every call."""

    def __init__(self, stub: AdServiceClient, credential: str) -> None:
        self._stub = stub
        self._credential = credential

    async def GetAds(  # noqa: N802 - the gRPC method's name
        self,
        request: ad_service_pb2.GetAdsRequest,
        timeout: float | None = None,  # noqa: ASYNC109 - the gRPC stub's signature
    ) -> ad_service_pb2.GetAdsResponse:
        request.cart_credential = self._credential
        try:
            return await self._stub.GetAds(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            _raise_if_refused(exc)
            raise

    async def ReportEvents(  # noqa: N802 - the gRPC method's name
        self,
        request: ad_service_pb2.ReportEventsRequest,
        timeout: float | None = None,  # noqa: ASYNC109 - the gRPC stub's signature
    ) -> ad_service_pb2.ReportEventsResponse:
        request.cart_credential = self._credential
        try:
            return await self._stub.ReportEvents(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            _raise_if_refused(exc)
            raise

    async def GetStoreInfo(  # noqa: N802 - the gRPC method's name
        self,
        request: ad_service_pb2.GetStoreInfoRequest,
        timeout: float | None = None,  # noqa: ASYNC109 - the gRPC stub's signature
    ) -> ad_service_pb2.GetStoreInfoResponse:
        request.cart_credential = self._credential
        try:
            return await cast("StoreInfoClient", self._stub).GetStoreInfo(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            _raise_if_refused(exc)
            raise


def _raise_if_refused(exc: grpc.aio.AioRpcError) -> None:
    if exc.code() in _REFUSED:
        raise CredentialRefusedError(
            f"the edge refused this cart's credential ({exc.code().name}: {exc.details()}); "
            "enrol the cart (cartads-admin carts enroll) and pass its file with --credential-file"
        ) from None
