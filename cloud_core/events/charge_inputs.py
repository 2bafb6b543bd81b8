"""The shell around ``charges``: gathers the keys, sent versions and terms one upload's tokens name
(one read per upload, terms cached by version), and flags the edge that uploaded refused charges."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import structlog

from cartads import tracking_token
from cartads.v1 import admin_pb2, event_ingest_pb2
from cloud_core.config import CloudConfig
from cloud_core.events.billing import BILLABLE_TYPES
from cloud_core.events.charges import FLAGGING_REASONS, SIGNED_REASONS, ChargePolicy, ChargeRecords
from cloud_core.events.sales_tokens import SALE_TYPES
from cloud_core.events.upload_checks import Violation
from cloud_core.storage.protocol import SigningKeyStore, TermsStore

log = structlog.get_logger("cloud.ingest")

# Sales bill nothing, but their token must verify to credit their campaign, often in an upload that
# holds no other event of that token (a checkout long after the ad, the trip's events sent before).
_VERIFIED_TYPES = BILLABLE_TYPES | SALE_TYPES


def named_records(
    events: Sequence[event_ingest_pb2.JournaledEvent], problems: Sequence[list[Violation]]
) -> tuple[list[str], list[str], dict[str, tracking_token.OpenedToken]]:
    """The key ids and index versions the billable events' and sales' tokens name (unverified: what to load), and
    the payloads parsed to find them, by token."""
    key_ids: set[str] = set()
    versions: set[str] = set()
    peeked: dict[str, tracking_token.OpenedToken] = {}
    for journaled, problem in zip(events, problems, strict=True):
        event = journaled.event
        if problem or not event.tracking_token or event.type not in _VERIFIED_TYPES:
            continue
        try:
            opened = tracking_token.open_token(event.tracking_token)
        except tracking_token.InvalidTokenError:
            continue
        peeked[event.tracking_token] = opened
        payload = opened.payload
        if payload.signing_key_id:
            key_ids.add(payload.signing_key_id)
            versions.add(payload.index_version)
    return sorted(key_ids), sorted(versions), peeked


class ChargeGate:
    """What ingest needs to judge charges, and what it does about refused ones."""

    def __init__(self, terms: TermsStore, keys: SigningKeyStore, config: CloudConfig) -> None:
        self._terms = terms
        self._keys = keys
        self._legacy_until_us = config.legacy_store_key_tokens_until_us
        self._token_ttl_s = config.token_ttl_s

    async def _legacy_until(self, now_us: int) -> int:
        if self._legacy_until_us is None:
            # Tokens the edges signed with the store's key before the upgrade stay billable for their life.
            since = await self._terms.legacy_since_us(now_us)
            self._legacy_until_us = since + self._token_ttl_s * 1_000_000
        return self._legacy_until_us

    async def inputs(
        self,
        request: event_ingest_pb2.UploadEventsRequest,
        problems: Sequence[list[Violation]],
        legacy_key: bytes,
        now_us: int,
    ) -> tuple[ChargePolicy, ChargeRecords]:
        """The policy and records to judge ``request``'s charges with."""
        key_ids, versions, peeked = named_records(request.events, problems)
        records = (
            await self._terms.charge_records(request.store_id, key_ids, versions)
            if key_ids or versions
            else ChargeRecords()
        )
        records = dataclasses.replace(records, peeked=peeked)
        policy = ChargePolicy(request.store_id, legacy_key, await self._legacy_until(now_us), now_us)
        return policy, records

    async def flag(
        self,
        store_id: str,
        edge_id: str,
        rejected: Sequence[tuple[int, str]],
        records: ChargeRecords,
        now_us: int,
    ) -> None:
        """Flag the uploading edge for the refused charges no honest edge sends, and the edge whose key
        signed a refused charge, when another: its key verified, so it is in other hands."""
        flagged: dict[tuple[str, str], list[int]] = {}
        for code, key_id in rejected:
            if code not in FLAGGING_REASONS:
                continue
            flagged.setdefault((store_id, edge_id), []).append(code)
            owner = records.keys.get(key_id)
            if code in SIGNED_REASONS and owner is not None and (owner.store_id, owner.edge_id) != (store_id, edge_id):
                flagged.setdefault((owner.store_id, owner.edge_id), []).append(code)
        for (store, edge), codes in sorted(flagged.items()):
            reason = admin_pb2.DeadLetterReason.Name(codes[-1]).removeprefix("DEAD_LETTER_REASON_")
            await self._keys.flag_edge(store, edge, reason, len(codes), now_us)
            log.warning("edge_flagged", store_id=store, edge_id=edge, reason=reason, count=len(codes))
