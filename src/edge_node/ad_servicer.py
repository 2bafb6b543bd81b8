"""AdService: the thin gRPC shell around validation, selection, token signing and the journal."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

import grpc
import structlog

from cartads import tracking_token
from cartads.v1 import ad_service_pb2_grpc
from cartads.v1.ad_service_pb2 import (
    GetAdsRequest,
    GetAdsResponse,
    ReportEventsRequest,
    ReportEventsResponse,
)
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from edge_node.config import EdgeConfig
from edge_node.errors import EdgeError, abort_with
from edge_node.event_pipeline import EventPipeline
from edge_node.holder import ViewHolder
from edge_node.local_state import SessionFrequency
from edge_node.selection import SelectedAd, select_ads
from edge_node.validation import parse_get_ads, parse_report
from edge_node.view import ServingView

_log = structlog.get_logger("edge.ads")

Context = grpc.aio.ServicerContext[Any, Any]


def _token(view: ServingView, request: GetAdsRequest, selected: SelectedAd, now_unix_ms: int) -> str:
    """The signed tracking token of one ad served now."""
    line_item = selected.line_item
    payload = TrackingTokenPayload(
        ad_id=selected.ad_id,
        store_id=request.store_id,
        cart_id=request.cart_id,
        session_id=request.session_id,
        campaign_id=line_item.campaign_id,
        line_item_id=line_item.line_item_id,
        creative_id=selected.creative.creative_id,
        advertiser_id=line_item.advertiser_id,
        pricing_model=line_item.pricing_model,  # type: ignore[arg-type]
        price_micros=selected.price_micros,
        issue_time_unix_ms=now_unix_ms,
        index_version=view.version,
    )
    return tracking_token.sign(payload, view.signing_key)


class AdServicer(ad_service_pb2_grpc.AdServiceServicer):
    """Answers carts from the current serving view and journals their events."""

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
    ) -> None:
        self._config = config
        self._holder = holder
        self._events = events
        self._frequency = frequency
        self._on_journaled = on_journaled
        self._clock = clock
        # Only makes ad ids; seeded from the OS so ids do not repeat across restarts.
        self._rng = rng or random.Random(int.from_bytes(os.urandom(16), "big"))

    async def GetAds(self, request: GetAdsRequest, context: Context) -> GetAdsResponse:  # noqa: N802
        """Choose ads for one moment of a cart's trip."""
        try:
            ad_request = parse_get_ads(request, self._config)
        except EdgeError as exc:
            await abort_with(context, exc)
        view = self._holder.view  # read once: the whole request uses this version
        now_unix_ms = int(self._clock() * 1000)
        # No await from reading the session to recording the decision: caps cannot be double-booked.
        decision = select_ads(
            view,
            ad_request,
            session=self._frequency.session(request.cart_id, request.session_id),
            # Local spend per budget lease; paid line items read as spent while the journal pushes back.
            spend_micros=self._events.serving_spend(view, now_unix_ms) if view is not None else {},
            now_unix_ms=now_unix_ms,
            default_max_ads=self._config.default_max_ads,
            rng=self._rng,
            budget_share=self._config.budget_share,
        )
        response = GetAdsResponse(
            index_version=view.version if view is not None else "",
            request_id=request.request_id,
            no_fill_reason=int(decision.no_fill_reason),  # type: ignore[arg-type]
        )
        if view is not None and decision.ads:
            creative_pbs = view.tables.creative_pb
            add_ad = response.ads.add
            for selected in decision.ads:
                line_item = selected.line_item
                creative_id = selected.creative.creative_id
                add_ad(
                    ad_id=selected.ad_id,
                    campaign_id=line_item.campaign_id,
                    line_item_id=line_item.line_item_id,
                    advertiser_id=line_item.advertiser_id,
                    # Prebuilt once per index version; copying it is far cheaper than building it per request.
                    creative=creative_pbs[creative_id],
                    slot_id=selected.slot_id,
                    tracking_token=_token(view, request, selected, now_unix_ms),
                )
            self._frequency.record_ads(
                request.cart_id,
                request.session_id,
                [(a.line_item.line_item_id, a.creative.creative_id, a.line_item.campaign_id) for a in decision.ads],
                now_unix_ms,
            )
        return response

    async def ReportEvents(self, request: ReportEventsRequest, context: Context) -> ReportEventsResponse:  # noqa: N802
        """Journal the events (and the conversions they cause) durably, group-committed, then answer."""
        try:
            events = parse_report(request, self._config)
            result = await self._events.record(events, self._holder.view)
        except EdgeError as exc:
            await abort_with(context, exc)
        if result.accepted_count or result.conversion_count:
            self._on_journaled()
        return ReportEventsResponse(
            accepted_count=result.accepted_count,
            duplicate_count=result.duplicate_count,
            conversion_count=result.conversion_count,
        )
