"""AdService: the thin gRPC shell around validation, selection, token signing and the journal."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

import grpc
import structlog

from cartads.rpc.errors import CartAdsError, UnavailableError, abort_with
from cartads.v1.ad_service_pb2 import (
    GetAdsRequest,
    GetStoreInfoRequest,
    GetStoreInfoResponse,
    ReportEventsRequest,
    ReportEventsResponse,
)
from edge_node.config import EdgeConfig
from edge_node.events.pipeline import EventPipeline
from edge_node.events.request_counts import RequestCounter
from edge_node.index.holder import ViewHolder
from edge_node.serving.cart_gate import CartGate
from edge_node.serving.local_state import SessionFrequency
from edge_node.serving.response_wire import ResponseWriter, no_index_response
from edge_node.serving.selection import NoFillReason, select_ads
from edge_node.serving.store_info import store_info
from edge_node.serving.validation import check_store_info, parse_get_ads, parse_report

_log = structlog.get_logger("edge.ads")

Context = grpc.aio.ServicerContext[Any, Any]


class AdServicer:
    """Answers carts from the current serving view and journals their events.

    Registered with ``registration.add_ad_service``: GetAds answers serialized bytes.
    """

    def __init__(
        self,
        *,
        config: EdgeConfig,
        holder: ViewHolder,
        events: EventPipeline,
        frequency: SessionFrequency,
        on_journaled: Callable[[], None],
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        counter: RequestCounter | None = None,
    ) -> None:
        self._config = config
        # GetAds outcomes per hour, journaled and uploaded periodically (edge_node/events/request_counts.py).
        self._counter = counter
        self._holder = holder
        self._events = events
        self._frequency = frequency
        self._on_journaled = on_journaled
        self._clock = clock
        # Only makes ad ids; seeded from the OS so ids do not repeat across restarts.
        self._rng = rng or random.Random(int.from_bytes(os.urandom(16), "big"))
        self._writer: ResponseWriter | None = None
        self._gate = CartGate(config)
        # GetStoreInfo's answer, built once per index version.
        self._store_info: GetStoreInfoResponse | None = None

    async def GetAds(self, request: GetAdsRequest, context: Context) -> bytes:  # noqa: N802
        """Choose ads for one moment of a cart's trip; answers the serialized GetAdsResponse."""
        view = self._holder.view  # read once: the whole request uses this version
        now_s = self._clock()
        paid_allowed = True
        try:
            # Without an index there is nothing to check a credential against, nor anything to sell.
            if view is not None and self._gate.enabled:
                cart = self._gate.admit_get_ads(request, view, now_s)
                paid_allowed = self._events.cart_unsent(cart.cart_id) < self._gate.journal_share(view)
            ad_request = parse_get_ads(request, self._config)
        except CartAdsError as exc:
            await abort_with(context, exc)
        if view is not None:
            # The same version, ranked by the learned rates of this request's trigger when it has some.
            view = view.for_trigger(ad_request.trigger)
        now_unix_ms = int(now_s * 1000)
        # Read once: each read of a protobuf string field makes a new str.
        cart_id = request.cart_id
        session_id = request.session_id
        # The session's experiment arms: a few hashes and one lookup in tables built at index load.
        plan = view.experiments.plan_for(session_id) if view is not None else None
        # Local spend per budget lease; paid line items read as spent while the journal pushes back
        # and once their leases expire.
        spend = self._events.serving_spend(view, now_unix_ms, paid_allowed=paid_allowed) if view is not None else None
        # No await from reading the session to recording the decision: caps cannot be double-booked.
        decision = select_ads(
            view,
            ad_request,
            session=self._frequency.session(cart_id, session_id),
            spend_micros=spend,
            now_unix_ms=now_unix_ms,
            default_max_ads=self._config.default_max_ads,
            rng=self._rng,
            budget_share=self._config.budget_share,
            plan=plan,
            paid_blocked=spend is not None and spend.paid_blocked,
        )
        if (
            not decision.ads
            and decision.no_fill_reason == NoFillReason.BUDGET_EXHAUSTED
            and not (paid_allowed and self._events.paid_ads_allowed())
        ):
            # Paid ads were stopped by the journal's pushback, not by any budget.
            decision.no_fill_reason = NoFillReason.JOURNAL_FULL
        if self._counter is not None:
            self._counter.record(now_unix_ms, ad_request.trigger, decision)
        if view is None:
            return no_index_response(int(decision.no_fill_reason), request.request_id)
        # The answer is written as bytes from pieces serialized once per version (edge_node/serving/response_wire.py).
        writer = self._writer
        keys = self._holder.keys
        key, key_id = (keys.key, keys.key_id) if keys is not None else (view.signing_key, "")
        if writer is None or writer.version != view.version or writer.signing_key_id != key_id:
            writer = self._writer = ResponseWriter(view.version, key, view.tables.creative_pb, signing_key_id=key_id)
        if decision.ads:
            # The index says how many sessions a cart keeps (its finished trips' state is dropped).
            self._frequency.sessions_per_cart = view.cart_limits.sessions_per_cart
            self._frequency.record_ads(
                cart_id,
                session_id,
                [(a.line_item.line_item_id, a.creative.creative_id, a.line_item.campaign_id) for a in decision.ads],
                now_unix_ms,
            )
        arms = plan.arm_pbs if plan is not None else ()
        return writer.write(request, decision.ads, int(decision.no_fill_reason), now_unix_ms, arms)

    async def ReportEvents(self, request: ReportEventsRequest, context: Context) -> ReportEventsResponse:  # noqa: N802
        """Journal the events (and the conversions they cause) durably, group-committed, then answer."""
        view = self._holder.view
        credential_id = ""
        try:
            if self._gate.enabled:
                if view is None:
                    raise UnavailableError("this edge holds no index yet, so it cannot check cart credentials")
                now_s = self._clock()
                cart = self._gate.admit_report(request, view, now_s)
                credential_id = cart.credential_id
            events = parse_report(request, self._config)
            if self._gate.enabled and view is not None:
                unsent = self._events.cart_unsent(cart.cart_id)
                self._gate.admit_events(cart, len(events), unsent, view, now_s)
            sent_ms = request.send_time.ToMilliseconds() if request.HasField("send_time") else None
            result = await self._events.record(
                events, view, self._holder.keys, send_time_unix_ms=sent_ms, cart_credential_id=credential_id
            )
        except CartAdsError as exc:
            await abort_with(context, exc)
        if result.accepted_count or result.conversion_count:
            self._on_journaled()
        return ReportEventsResponse(
            accepted_count=result.accepted_count,
            duplicate_count=result.duplicate_count,
            conversion_count=result.conversion_count,
        )

    async def GetStoreInfo(self, request: GetStoreInfoRequest, context: Context) -> GetStoreInfoResponse:  # noqa: N802
        """The store's name and zones for a cart's screen, from the index this edge holds."""
        view = self._holder.view
        try:
            if view is None:
                raise UnavailableError("this edge holds no index yet, so it knows nothing of its store")
            if self._gate.enabled:
                self._gate.admit_store_info(request, view, self._clock())
            check_store_info(request, self._config)
        except CartAdsError as exc:
            await abort_with(context, exc)
        answer = self._store_info
        if answer is None or answer.index_version != view.version:
            answer = self._store_info = store_info(view)
        return answer
