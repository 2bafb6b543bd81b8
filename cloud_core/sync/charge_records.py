"""What the index stream records so the cloud can later vouch for charges: the key an edge signs its
tracking tokens with (registered from the stream's first message), and the terms of every version
sent to a store (``cloud_core/compile/terms.py``), recorded before the version leaves the cloud."""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import structlog
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from cartads.rpc.errors import AlreadyExistsError, InvalidArgumentError, abort_with
from cartads.time_units import now_us
from cartads.v1 import index_pb2, index_sync_pb2
from cloud_core.access.edge_auth import credential_label
from cloud_core.compile.terms import encode_terms, index_terms
from cloud_core.storage.protocol import SigningKeyStore, TermsStore

log = structlog.get_logger("cloud.index_sync")

KEY_ID_HEADER = "x-cartads-signing-key-id"
REVOKED_REASON = "SIGNING_KEY_REVOKED"
KEY_BYTES = 32
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_ENCODED_VERSIONS = 64
# A version already recorded as sent to a store is recorded again (its last send time) after this.
RECORD_AGAIN_S = 3600
PRUNE_EVERY_S = 3600
_RECORDED_KEYS = 65_536
Ctx = grpc.aio.ServicerContext[Any, Any]


def key_violations(key: index_sync_pb2.EdgeSigningKey) -> list[tuple[str, str]]:
    """What makes an edge's key unacceptable: its id is 16 lowercase hex characters, its key 32 bytes."""
    out = []
    if not _KEY_ID.fullmatch(key.key_id):
        out.append(("signing_key.key_id", "must be 16 lowercase hex characters"))
    if len(key.key) != KEY_BYTES:
        out.append(("signing_key.key", f"must be {KEY_BYTES} random bytes"))
    return out


def key_still_valid(keys: SigningKeyStore, key_id: str) -> Callable[[], Awaitable[bool]]:
    """Whether ``key_id`` is still unrevoked, read from storage (any replica may have revoked it)."""

    async def check() -> bool:
        record = (await keys.signing_keys([key_id])).get(key_id)
        return record is not None and not record.revoke_time_us

    return check


async def abort_revoked(context: Ctx, key_id: str) -> None:
    """End the stream: FAILED_PRECONDITION with google.rpc.ErrorInfo reason SIGNING_KEY_REVOKED."""
    info = error_details_pb2.ErrorInfo(reason=REVOKED_REASON, domain="cartads.v1", metadata={"key_id": key_id})
    status = status_pb2.Status(
        code=grpc.StatusCode.FAILED_PRECONDITION.value[0],
        message=f"signing key {key_id} was revoked ({REVOKED_REASON}): make a new one",
    )
    status.details.add().Pack(info)
    converted = rpc_status.to_status(status)
    await context.abort(converted.code, converted.details, converted.trailing_metadata)


async def register_edge_key(
    keys: SigningKeyStore, context: Ctx, store_id: str, edge_id: str, key: index_sync_pb2.EdgeSigningKey
) -> list[tuple[str, str]]:
    """Record the edge's key (first message of its stream) and return the headers that confirm it;
    ends the stream when the key is malformed, another edge's, or revoked."""
    violations = key_violations(key)
    if violations:
        await abort_with(context, InvalidArgumentError(violations))
    registered = await keys.register_key(store_id, edge_id, key.key_id, key.key, credential_label(context), now_us())
    if registered.conflict:
        log.warning("signing_key_conflict", store_id=store_id, edge_id=edge_id, key_id=key.key_id)
        await abort_with(
            context, AlreadyExistsError(f"signing key {key.key_id} is registered to another edge", "signing_key.key_id")
        )
    if registered.record.revoke_time_us:
        log.warning("signing_key_revoked_refused", store_id=store_id, edge_id=edge_id, key_id=key.key_id)
        await abort_revoked(context, key.key_id)
    return [(KEY_ID_HEADER, key.key_id)]


class TermsRecorder:
    """Records each version's terms and that it was sent to its store: once per store and version per
    process (again after ``RECORD_AGAIN_S``, so retention counts from the latest send), with every
    stream of the store waiting on the one write; and drops records past retention once an hour."""

    def __init__(self, terms: TermsStore, retention_days: int, clock: Callable[[], int] = now_us) -> None:
        self._terms = terms
        self._retention_us = retention_days * 86_400 * 1_000_000
        self._clock = clock
        self._encoded: OrderedDict[str, tuple[bytes, list[str]]] = OrderedDict()
        self._recorded: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._inflight: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._pruned_us = 0

    def _encode(self, index: index_pb2.StoreIndex) -> tuple[bytes, list[str]]:
        found = self._encoded.get(index.version)
        if found is None:
            terms = index_terms(index)
            found = self._encoded[index.version] = (encode_terms(terms), sorted(terms.assets))
            while len(self._encoded) > _ENCODED_VERSIONS:
                self._encoded.popitem(last=False)
        return found

    async def sent(self, index: index_pb2.StoreIndex) -> None:
        """``index`` is about to be sent to its store's edge: on record before this returns."""
        key = (index.store_id, index.version)
        now = self._clock()
        when = self._recorded.get(key)
        if when is not None and now - when < RECORD_AGAIN_S * 1_000_000:
            return
        pending = self._inflight.get(key)
        if pending is not None:
            await asyncio.shield(pending)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            encoded, assets = self._encode(index)
            await self._terms.record_sent(index.store_id, index.version, encoded, assets, now)
            if now - self._pruned_us >= PRUNE_EVERY_S * 1_000_000:
                self._pruned_us = now
                await self._terms.forget_sent_before(now - self._retention_us)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # the waiters (if any) see it; none is not an unretrieved error
            raise
        finally:
            del self._inflight[key]
        self._recorded[key] = now
        while len(self._recorded) > _RECORDED_KEYS:
            self._recorded.popitem(last=False)
        future.set_result(None)
