"""AdminService's advertisers (create, get, list, update, delete) and their campaigns (the same, and
the pause/resume custom methods)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cartads.rpc.errors import FailedPreconditionError
from cartads.time_units import dt_to_ts, dt_to_us, ts_to_us
from cartads.v1 import admin_pb2
from cloud_core.access.auth import scoped_advertiser
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, next_token
from cloud_core.admin.request_checks import choose_id, existing, merge, raise_if
from cloud_core.storage.protocol import AdvertiserStore, CampaignStore
from cloud_core.sync.notifier import ChangeNotifier

ACTIVE = admin_pb2.SERVING_STATE_ACTIVE
PAUSED = admin_pb2.SERVING_STATE_PAUSED


class AdvertiserAdmin:
    """The advertiser methods; an advertiser token lists only its own advertiser."""

    def __init__(self, advertisers: AdvertiserStore, clock: Callable[[], datetime]) -> None:
        self._advertisers = advertisers
        self._clock = clock

    async def create(self, request: admin_pb2.CreateAdvertiserRequest) -> admin_pb2.CreateAdvertiserResponse:
        adv = admin_pb2.Advertiser()
        adv.CopyFrom(request.advertiser)
        adv.advertiser_id = choose_id(request.advertiser_id, adv.advertiser_id, "advertiser_id", "adv")
        raise_if(v.validate_advertiser(adv))
        adv.create_time.CopyFrom(dt_to_ts(self._clock()))
        await self._advertisers.create_advertiser(adv)
        return admin_pb2.CreateAdvertiserResponse(advertiser=adv)

    async def get(self, request: admin_pb2.GetAdvertiserRequest) -> admin_pb2.GetAdvertiserResponse:
        adv = await existing("advertiser", request.advertiser_id, "advertiser_id", self._advertisers.get_advertiser)
        return admin_pb2.GetAdvertiserResponse(advertiser=adv)

    async def list_page(self, request: admin_pb2.ListAdvertisersRequest) -> admin_pb2.ListAdvertisersResponse:
        query = "advertisers"
        page = decode_request(request.page_size, request.page_token, query)
        own = scoped_advertiser()
        if own:
            # An advertiser token sees only its own advertiser.
            adv = await self._advertisers.get_advertiser(own) if own > page.after_id else None
            return admin_pb2.ListAdvertisersResponse(advertisers=[adv] if adv else [])
        rows = await self._advertisers.list_advertisers(page)
        token = next_token([r.advertiser_id for r in rows], page.limit, query)
        return admin_pb2.ListAdvertisersResponse(advertisers=rows[: page.limit], next_page_token=token)

    async def update(self, request: admin_pb2.UpdateAdvertiserRequest) -> admin_pb2.UpdateAdvertiserResponse:
        current = await existing(
            "advertiser",
            request.advertiser.advertiser_id,
            "advertiser.advertiser_id",
            self._advertisers.get_advertiser,
        )
        merged = merge(current, request.advertiser, request.update_mask, "advertiser")
        raise_if(v.validate_advertiser(merged))
        await self._advertisers.update_advertiser(merged)
        return admin_pb2.UpdateAdvertiserResponse(advertiser=merged)

    async def delete(self, request: admin_pb2.DeleteAdvertiserRequest) -> admin_pb2.DeleteAdvertiserResponse:
        raise_if(v.check_required_id(request.advertiser_id, "advertiser_id"))
        await self._advertisers.delete_advertiser(request.advertiser_id)
        return admin_pb2.DeleteAdvertiserResponse()


def resume_refusal(campaign: admin_pb2.Campaign, now: datetime) -> FailedPreconditionError | None:
    """Why ``campaign`` (or a line item of it) may not become active at ``now``: its flight has ended."""
    if ts_to_us(campaign.end_time) > dt_to_us(now):
        return None
    return FailedPreconditionError(
        f"campaign {campaign.campaign_id!r} ended at {campaign.end_time.ToJsonString()}; "
        "extend its end_time to resume it"
    )


class CampaignAdmin:
    """The campaign methods; every change is announced so the stores' indexes are rebuilt."""

    def __init__(
        self,
        campaigns: CampaignStore,
        advertisers: AdvertiserStore,
        notifier: ChangeNotifier,
        clock: Callable[[], datetime],
    ) -> None:
        self._campaigns = campaigns
        self._advertisers = advertisers
        self._notifier = notifier
        self._clock = clock

    async def create(self, request: admin_pb2.CreateCampaignRequest) -> admin_pb2.CreateCampaignResponse:
        campaign = admin_pb2.Campaign()
        campaign.CopyFrom(request.campaign)
        campaign.campaign_id = choose_id(request.campaign_id, campaign.campaign_id, "campaign_id", "cmp")
        if campaign.state == admin_pb2.SERVING_STATE_UNSPECIFIED:
            campaign.state = ACTIVE
        raise_if(v.validate_campaign(campaign))
        await existing("advertiser", campaign.advertiser_id, "campaign.advertiser_id", self._advertisers.get_advertiser)
        campaign.create_time.CopyFrom(dt_to_ts(self._clock()))
        await self._campaigns.create_campaign(campaign)
        self._notifier.notify()
        return admin_pb2.CreateCampaignResponse(campaign=campaign)

    async def get(self, request: admin_pb2.GetCampaignRequest) -> admin_pb2.GetCampaignResponse:
        return admin_pb2.GetCampaignResponse(campaign=await self._campaign(request.campaign_id))

    async def list_page(self, request: admin_pb2.ListCampaignsRequest) -> admin_pb2.ListCampaignsResponse:
        query = f"campaigns:{request.advertiser_id}"
        page = decode_request(request.page_size, request.page_token, query)
        rows = await self._campaigns.list_campaigns(page, request.advertiser_id)
        token = next_token([r.campaign_id for r in rows], page.limit, query)
        return admin_pb2.ListCampaignsResponse(campaigns=rows[: page.limit], next_page_token=token)

    async def update(self, request: admin_pb2.UpdateCampaignRequest) -> admin_pb2.UpdateCampaignResponse:
        current = await self._campaign(request.campaign.campaign_id, "campaign.campaign_id")
        merged = merge(current, request.campaign, request.update_mask, "campaign")
        if merged.state == admin_pb2.SERVING_STATE_UNSPECIFIED:
            merged.state = current.state
        raise_if(v.validate_campaign(merged))
        if merged.state == ACTIVE and current.state != ACTIVE:
            refusal = resume_refusal(merged, self._clock())
            if refusal is not None:
                raise refusal
        await self._campaigns.update_campaign(merged)
        self._notifier.notify()
        return admin_pb2.UpdateCampaignResponse(campaign=merged)

    async def delete(self, request: admin_pb2.DeleteCampaignRequest) -> admin_pb2.DeleteCampaignResponse:
        raise_if(v.check_required_id(request.campaign_id, "campaign_id"))
        await self._campaigns.delete_campaign(request.campaign_id)
        self._notifier.notify()
        return admin_pb2.DeleteCampaignResponse()

    async def pause(self, request: admin_pb2.PauseCampaignRequest) -> admin_pb2.PauseCampaignResponse:
        """Pausing a paused campaign changes nothing."""
        return admin_pb2.PauseCampaignResponse(campaign=await self._set_state(request.campaign_id, PAUSED))

    async def resume(self, request: admin_pb2.ResumeCampaignRequest) -> admin_pb2.ResumeCampaignResponse:
        """Resuming an active campaign changes nothing; an ended one is refused."""
        return admin_pb2.ResumeCampaignResponse(campaign=await self._set_state(request.campaign_id, ACTIVE))

    async def _campaign(self, campaign_id: str, field: str = "campaign_id") -> admin_pb2.Campaign:
        return await existing("campaign", campaign_id, field, self._campaigns.get_campaign)

    async def _set_state(self, campaign_id: str, state: admin_pb2.ServingState) -> admin_pb2.Campaign:
        campaign = await self._campaign(campaign_id)
        if campaign.state == state:
            return campaign
        refusal = resume_refusal(campaign, self._clock()) if state == ACTIVE else None
        if refusal is not None:
            raise refusal
        campaign.state = state
        await self._campaigns.update_campaign(campaign)
        self._notifier.notify()
        return campaign
