"""EventIngestService: dedupe, verify, bill and record a batch of edge events in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from cartads.rpc.errors import Ctx, InvalidArgumentError, NotFoundError, maps_errors
from cartads.time_units import now_us
from cartads.v1 import event_ingest_pb2, event_ingest_pb2_grpc
from cloud_core.access.edge_auth import require_store
from cloud_core.config import CloudConfig
from cloud_core.events.billing import assess_event
from cloud_core.events.charge_inputs import ChargeGate
from cloud_core.events.ivt_check import history_needs, rejudge
from cloud_core.events.outcomes import EventOutcome
from cloud_core.events.upload_checks import journaled_violations, malformed_outcome, malformed_reason, upload_violations
from cloud_core.storage.protocol import CatalogStore, LedgerStore, PacingStatsStore, SigningKeyStore, TermsStore
from cloud_core.sync.notifier import ChangeNotifier

log = structlog.get_logger("cloud.ingest")


class EventIngestServicer(event_ingest_pb2_grpc.EventIngestServiceServicer):
    """Idempotent uploads: the unique keys in storage make a resent batch cost nothing."""

    def __init__(
        self,
        *,
        catalog: CatalogStore,
        ledger: LedgerStore,
        request_counts: PacingStatsStore,
        notifier: ChangeNotifier,
        config: CloudConfig,
        terms: TermsStore,
        keys: SigningKeyStore,
        clock: Callable[[], int] = now_us,
    ) -> None:
        self._catalog = catalog
        self._ledger = ledger
        self._request_counts = request_counts
        self._notifier = notifier
        self._token_ttl_s = config.token_ttl_s
        self._ivt_policy = config.ivt_policy
        self._clock = clock
        self._gate = ChargeGate(terms, keys, config)

    async def _rejudged(
        self,
        store_id: str,
        journaled: Sequence[event_ingest_pb2.JournaledEvent],
        outcomes: list[EventOutcome],
        now: int,
    ) -> list[EventOutcome]:
        """The outcomes with the cloud's invalid traffic verdicts, judged against the ledger's history."""
        needs = history_needs(journaled, outcomes, self._ivt_policy, now)
        if not needs.cart_ids:
            return outcomes
        context = await self._ledger.ivt_context(store_id, needs)
        return rejudge(
            store_id,
            journaled,
            outcomes,
            context,
            policy=self._ivt_policy,
            token_ttl_s=self._token_ttl_s,
            now_us=now,
        )

    @maps_errors
    async def UploadEvents(  # noqa: N802
        self, request: event_ingest_pb2.UploadEventsRequest, context: Ctx
    ) -> event_ingest_pb2.UploadEventsResponse:
        violations = upload_violations(request)
        if violations:
            raise InvalidArgumentError(violations[:20])
        require_store(context, request.store_id)
        key = await self._catalog.signing_key(request.store_id)
        if key is None:
            raise NotFoundError(f"store {request.store_id!r} does not exist", "store_id")
        # Bounds first, before any value is converted or written: an event outside them is
        # dead-lettered with the field that broke them, and never stops the rest of the upload.
        now = self._clock()
        problems = [journaled_violations(j, i, now) for i, j in enumerate(request.events)]
        # The edge's own request-count records are not cart events: they go to their own tables,
        # deduplicated on their id as events are (a record without one is keyed on the edge's seq).
        counts = [
            (j.event.event_id or f"{request.edge_id}/seq/{j.seq}", j.request_counts)
            for j, problem in zip(request.events, problems, strict=True)
            if j.HasField("request_counts") and not problem
        ]
        new_counts = (
            await self._request_counts.record_request_counts(request.store_id, request.edge_id, counts) if counts else 0
        )
        judged = [
            (j, problem)
            for j, problem in zip(request.events, problems, strict=True)
            if problem or not j.HasField("request_counts")
        ]
        # Every charge is judged against the keys and terms the cloud itself recorded (events/charges.py).
        policy, records = await self._gate.inputs(request, problems, key, now)
        outcomes = [
            malformed_outcome(j, malformed_reason(problem))
            if problem
            else assess_event(j, policy, records, self._token_ttl_s)
            for j, problem in judged
        ]
        outcomes = await self._rejudged(request.store_id, [j for j, _ in judged], outcomes, now)
        result = await self._ledger.record_events(request.store_id, request.edge_id, outcomes)
        await self._gate.flag(request.store_id, request.edge_id, result.rejected_codes, records, now)
        if result.exhausted_campaign_ids:
            log.info("budget_exhausted", campaign_ids=sorted(result.exhausted_campaign_ids))
            # Every store may serve the campaign; those whose index does not change are not re-sent.
            self._notifier.notify()
        if result.rejected_count:
            malformed = sum(1 for problem in problems if problem)
            log.warning("events_rejected", store_id=request.store_id, count=result.rejected_count, malformed=malformed)
        return event_ingest_pb2.UploadEventsResponse(
            acknowledged_seq=max((j.seq for j in request.events), default=0),
            billed_count=result.billed_count,
            duplicate_count=result.duplicate_count,
            recorded_count=result.recorded_count + new_counts,
            rejected_count=result.rejected_count,
            over_delivered_count=result.over_delivered_count,
            invalid_count=result.invalid_count,
        )
