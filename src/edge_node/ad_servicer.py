"""AdService: the thin gRPC shell around validation, selection, token signing and the journal."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import structlog

from cartads import tracking_token
from cartads.v1 import ad_service_pb2_grpc
from cartads.v1.ad_service_pb2 import (
    Ad,
    GetAdsRequest,
    GetAdsResponse,
    ReportEventsRequest,
    ReportEventsResponse,
)
from cartads.v1.common_pb2 import Creative as PbCreative
from cartads.v1.common_pb2 import EventType
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from edge_node.config import EdgeConfig
from edge_node.errors import EdgeError, abort_with
from edge_node.holder import ViewHolder
from edge_node.journal import Journal
from edge_node.local_state import LocalSpend, SessionFrequency
from edge_node.selection import SelectedAd, select_ads
from edge_node.validation import parse_get_ads, parse_report
from edge_node.view import Creative, ServingView

_log = structlog.get_logger("edge.ads")
_SPEND_EVENT_TYPES = frozenset({EventType.EVENT_TYPE_IMPRESSION, EventType.EVENT_TYPE_CLICK})

Context = grpc.aio.ServicerContext[Any, Any]


def _creative_pb(creative: Creative) -> PbCreative:
    return PbCreative(
        creative_id=creative.creative_id,
        format=creative.format,  # type: ignore[arg-type]
        headline=creative.headline,
        body=creative.body,
        image_url=creative.image_url,
        promoted_product_id=creative.promoted_product_id,
        call_to_action=creative.call_to_action,
        location_hint=creative.location_hint,
        price_micros=creative.price_micros,
        offer_text=creative.offer_text,
        coupon_code=creative.coupon_code,
    )


class AdServicer(ad_service_pb2_grpc.AdServiceServicer):
    """Answers carts from the current serving view and journals their events."""

    def __init__(
        self,
        *,
        config: EdgeConfig,
        holder: ViewHolder,
        journal: Journal,
        frequency: SessionFrequency,
        spend: LocalSpend,
        on_journaled: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._holder = holder
        self._journal = journal
        self._frequency = frequency
        self._spend = spend
        self._on_journaled = on_journaled
        self._clock = clock

    async def GetAds(self, request: GetAdsRequest, context: Context) -> GetAdsResponse:  # noqa: N802
        """Choose ads for one moment of a cart's trip."""
        try:
            ad_request = parse_get_ads(request, self._config)
        except EdgeError as exc:
            await abort_with(context, exc)
        view = self._holder.view  # read once: the whole request uses this version
        now_unix_ms = int(self._clock() * 1000)
        decision = select_ads(
            view,
            ad_request,
            frequency=self._frequency.get(request.cart_id, request.session_id),
            spend_micros=self._spend.spend_micros(),
            now_unix_ms=now_unix_ms,
            default_max_ads=self._config.default_max_ads,
        )
        response = GetAdsResponse(
            index_version=view.version if view is not None else "",
            request_id=request.request_id,
            no_fill_reason=int(decision.no_fill_reason),  # type: ignore[arg-type]
        )
        if view is not None and decision.ads:
            response.ads.extend(self._ad_pb(view, request, selected, now_unix_ms) for selected in decision.ads)
            self._frequency.record(
                request.cart_id, request.session_id, (a.line_item.line_item_id for a in decision.ads)
            )
        return response

    def _ad_pb(self, view: ServingView, request: GetAdsRequest, selected: SelectedAd, now_unix_ms: int) -> Ad:
        line_item = selected.line_item
        ad_id = uuid.uuid4().hex
        payload = TrackingTokenPayload(
            ad_id=ad_id,
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
        return Ad(
            ad_id=ad_id,
            campaign_id=line_item.campaign_id,
            line_item_id=line_item.line_item_id,
            advertiser_id=line_item.advertiser_id,
            creative=_creative_pb(selected.creative),
            slot_id=selected.slot_id,
            tracking_token=tracking_token.sign(payload, view.signing_key),
        )

    async def ReportEvents(self, request: ReportEventsRequest, context: Context) -> ReportEventsResponse:  # noqa: N802
        """Journal the events durably, then answer."""
        try:
            events = parse_report(request, self._config)
            receive_unix_ms = int(self._clock() * 1000)
            result = await asyncio.to_thread(self._journal.append, events, receive_unix_ms)
        except EdgeError as exc:
            await abort_with(context, exc)
        if result.accepted:
            self._on_journaled()
        view = self._holder.view
        if view is not None:
            for journaled in result.accepted:
                event = journaled.event
                if event.type not in _SPEND_EVENT_TYPES:
                    continue
                try:
                    payload = tracking_token.verify(event.tracking_token, view.signing_key)
                except tracking_token.InvalidTokenError:
                    # Still journaled: the cloud decides, and dead-letters what it cannot bill.
                    _log.info("event token does not verify", event_id=event.event_id)
                    continue
                self._spend.add(payload, event.type)
        return ReportEventsResponse(accepted_count=len(result.accepted), duplicate_count=result.duplicate_count)
