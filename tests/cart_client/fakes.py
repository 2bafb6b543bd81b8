"""An in-memory AdService for the cart's tests: scripted ads, recorded calls, switchable outages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from cartads.v1 import ad_service_pb2, common_pb2

AdsFor = Callable[[ad_service_pb2.GetAdsRequest], list[ad_service_pb2.Ad]]


def make_ad(slot_id: str, ad_id: str, *, headline: str = "Fresh Bananas", token: str = "") -> ad_service_pb2.Ad:
    """An ad as the edge would send it, with a tracking token derived from its id."""
    return ad_service_pb2.Ad(
        ad_id=ad_id,
        campaign_id="camp-1",
        line_item_id="li-1",
        slot_id=slot_id,
        tracking_token=token or f"token-{ad_id}",
        creative=common_pb2.Creative(
            creative_id="cr-1",
            format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
            headline=headline,
            body="Sweet and ripe",
            call_to_action="Add to cart",
            location_hint="aisle 24 — fresh fruits",
        ),
    )


def rpc_error(code: grpc.StatusCode, details: str = "fake failure") -> grpc.aio.AioRpcError:
    """The exception a real aio stub raises for a failed call."""
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details, debug_error_string="")


def fill_every_slot(request: ad_service_pb2.GetAdsRequest) -> list[ad_service_pb2.Ad]:
    """One fresh ad per requested slot, ids unique per decision as the contract says."""
    return [make_ad(slot.slot_id, f"ad-{request.request_id}-{slot.slot_id}") for slot in request.slots]


@dataclass
class FakeAdService:
    """Answers GetAds from ``ads_for`` and journals ReportEvents, deduplicating on event_id.

    ``get_ads_down`` / ``report_down`` make calls fail with UNAVAILABLE, as an unreachable edge does.
    """

    ads_for: AdsFor = fill_every_slot
    get_ads_down: bool = False
    report_down: bool = False
    get_ads_requests: list[ad_service_pb2.GetAdsRequest] = field(default_factory=list)
    report_requests: list[ad_service_pb2.ReportEventsRequest] = field(default_factory=list)
    journal: dict[str, common_pb2.CartEvent] = field(default_factory=dict)
    timeouts: list[float | None] = field(default_factory=list)
    # Every ReportEvents call, answered or not, to check what a retry re-sent.
    report_attempts: list[ad_service_pb2.ReportEventsRequest] = field(default_factory=list)
    # This many ReportEvents calls journal their events and then fail, as when the answer is lost.
    lose_report_answers: int = 0
    # ReportEvents refuses any batch holding an event of this type, as an edge refuses invalid input.
    reject_event_type: common_pb2.EventType | None = None
    # GetStoreInfo's answer over gRPC (tests/cart_client/grpc_fake.py); None answers UNIMPLEMENTED.
    store_info: ad_service_pb2.GetStoreInfoResponse | None = None
    store_info_requests: list[ad_service_pb2.GetStoreInfoRequest] = field(default_factory=list)

    async def GetAds(  # noqa: N802 - the gRPC method's name
        self,
        request: ad_service_pb2.GetAdsRequest,
        timeout: float | None = None,  # noqa: ASYNC109 - mirrors the stub's keyword
    ) -> ad_service_pb2.GetAdsResponse:
        """Record the request and answer it with ``ads_for`` (or fail when down)."""
        self.timeouts.append(timeout)
        if self.get_ads_down:
            raise rpc_error(grpc.StatusCode.UNAVAILABLE)
        self.get_ads_requests.append(request)
        ads = self.ads_for(request)
        return ad_service_pb2.GetAdsResponse(
            ads=ads,
            index_version="v1",
            request_id=request.request_id,
            no_fill_reason=ad_service_pb2.NO_FILL_REASON_UNSPECIFIED
            if ads
            else ad_service_pb2.NO_FILL_REASON_NO_CANDIDATES,
        )

    async def ReportEvents(  # noqa: N802 - the gRPC method's name
        self,
        request: ad_service_pb2.ReportEventsRequest,
        timeout: float | None = None,  # noqa: ASYNC109 - mirrors the stub's keyword
    ) -> ad_service_pb2.ReportEventsResponse:
        """Journal the batch's new events (or fail when down)."""
        self.timeouts.append(timeout)
        self.report_attempts.append(request)
        if self.report_down:
            raise rpc_error(grpc.StatusCode.UNAVAILABLE)
        if any(event.type == self.reject_event_type for event in request.events):
            raise rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "events[0].type: not reportable")
        accepted = 0
        for event in request.events:
            if event.event_id not in self.journal:
                self.journal[event.event_id] = event
                accepted += 1
        if self.lose_report_answers > 0:
            self.lose_report_answers -= 1
            raise rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED)
        self.report_requests.append(request)
        return ad_service_pb2.ReportEventsResponse(
            accepted_count=accepted, duplicate_count=len(request.events) - accepted
        )

    def journaled(self, event_type: common_pb2.EventType) -> list[common_pb2.CartEvent]:
        """The journaled events of one type, in arrival order."""
        return [e for e in self.journal.values() if e.type == event_type]
