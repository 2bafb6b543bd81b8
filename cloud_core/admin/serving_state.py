"""AdminService.PauseCampaign / ResumeCampaign / PauseLineItem / ResumeLineItem (AIP-136 custom methods)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from cartads.rpc.errors import Ctx, FailedPreconditionError, maps_errors
from cartads.time_units import dt_to_us, ts_to_us
from cartads.v1 import admin_pb2
from cloud_core.storage.protocol import CampaignStore
from cloud_core.sync.notifier import ChangeNotifier

ACTIVE = admin_pb2.SERVING_STATE_ACTIVE
PAUSED = admin_pb2.SERVING_STATE_PAUSED


def resume_refusal(campaign: admin_pb2.Campaign, now: datetime) -> FailedPreconditionError | None:
    """Why ``campaign`` (or a line item of it) may not become active at ``now``: its flight has ended."""
    if ts_to_us(campaign.end_time) > dt_to_us(now):
        return None
    return FailedPreconditionError(
        f"campaign {campaign.campaign_id!r} ended at {campaign.end_time.ToJsonString()}; "
        "extend its end_time to resume it"
    )


class _ForServingState(Protocol):
    """What the mixin reads from AdminServicer."""

    @property
    def _store(self) -> CampaignStore: ...
    @property
    def _notifier(self) -> ChangeNotifier: ...
    @property
    def _clock(self) -> Callable[[], datetime]: ...

    async def _campaign(self, campaign_id: str, field: str) -> admin_pb2.Campaign: ...
    async def _line_item(self, line_item_id: str, field: str) -> admin_pb2.LineItem: ...


async def _set_campaign_state(
    servicer: _ForServingState, campaign_id: str, state: admin_pb2.ServingState
) -> admin_pb2.Campaign:
    campaign = await servicer._campaign(campaign_id, "campaign_id")
    if campaign.state == state:
        return campaign
    refusal = resume_refusal(campaign, servicer._clock()) if state == ACTIVE else None
    if refusal is not None:
        raise refusal
    campaign.state = state
    await servicer._store.update_campaign(campaign)
    servicer._notifier.notify()
    return campaign


async def _set_line_item_state(
    servicer: _ForServingState, line_item_id: str, state: admin_pb2.ServingState
) -> admin_pb2.LineItem:
    item = await servicer._line_item(line_item_id, "line_item_id")
    if item.state == state:
        return item
    if state == ACTIVE:
        campaign = await servicer._campaign(item.campaign_id, "line_item.campaign_id")
        refusal = resume_refusal(campaign, servicer._clock())
        if refusal is not None:
            raise refusal
    item.state = state
    await servicer._store.update_line_item(item)
    servicer._notifier.notify()
    return item


class ServingStateMixin:
    """Mixed into AdminServicer. Pausing what is paused (or resuming what is active) changes nothing."""

    @maps_errors
    async def PauseCampaign(  # noqa: N802
        self: _ForServingState, request: admin_pb2.PauseCampaignRequest, context: Ctx
    ) -> admin_pb2.PauseCampaignResponse:
        return admin_pb2.PauseCampaignResponse(campaign=await _set_campaign_state(self, request.campaign_id, PAUSED))

    @maps_errors
    async def ResumeCampaign(  # noqa: N802
        self: _ForServingState, request: admin_pb2.ResumeCampaignRequest, context: Ctx
    ) -> admin_pb2.ResumeCampaignResponse:
        return admin_pb2.ResumeCampaignResponse(campaign=await _set_campaign_state(self, request.campaign_id, ACTIVE))

    @maps_errors
    async def PauseLineItem(  # noqa: N802
        self: _ForServingState, request: admin_pb2.PauseLineItemRequest, context: Ctx
    ) -> admin_pb2.PauseLineItemResponse:
        item = await _set_line_item_state(self, request.line_item_id, PAUSED)
        return admin_pb2.PauseLineItemResponse(line_item=item)

    @maps_errors
    async def ResumeLineItem(  # noqa: N802
        self: _ForServingState, request: admin_pb2.ResumeLineItemRequest, context: Ctx
    ) -> admin_pb2.ResumeLineItemResponse:
        item = await _set_line_item_state(self, request.line_item_id, ACTIVE)
        return admin_pb2.ResumeLineItemResponse(line_item=item)
