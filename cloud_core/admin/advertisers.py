"""AdminService's advertisers: create, get, list, update, delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2
from cloud_core.access.auth import scoped_advertiser
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import decode_request, next_token
from cloud_core.admin.request_checks import choose_id, existing, merge, raise_if
from cloud_core.storage.protocol import AdvertiserStore


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
