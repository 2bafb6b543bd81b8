"""AdminService's line items: create, get, list, update, delete, and the pause/resume custom methods."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin import validation as v
from cloud_core.admin.campaigns import ACTIVE, PAUSED, resume_refusal
from cloud_core.admin.pagination import PageRequest, decode_request, next_token
from cloud_core.admin.request_checks import choose_id, existing, merge, raise_if
from cloud_core.compile.change_scope import stores_touched
from cloud_core.storage.protocol import AccessStore, CampaignStore, CatalogStore
from cloud_core.sync.notifier import ChangeNotifier

# Rows read per page when finding the stores a change touches.
_SCOPE_PAGE = 1000


class LineItemAdmin:
    """The line item methods; a line item is checked against its campaign, creatives and targeted stores."""

    def __init__(
        self,
        campaigns: CampaignStore,
        catalog: CatalogStore,
        access: AccessStore,
        notifier: ChangeNotifier,
        clock: Callable[[], datetime],
    ) -> None:
        self._campaigns = campaigns
        self._catalog = catalog
        self._access = access
        self._notifier = notifier
        self._clock = clock

    async def create(self, request: admin_pb2.CreateLineItemRequest) -> admin_pb2.CreateLineItemResponse:
        item = admin_pb2.LineItem()
        item.CopyFrom(request.line_item)
        item.line_item_id = choose_id(request.line_item_id, item.line_item_id, "line_item_id", "li")
        if item.state == admin_pb2.SERVING_STATE_UNSPECIFIED:
            item.state = ACTIVE
        # Unspecified competes in the auction anyway; stored as such, so what is shown is what serves.
        if item.priority_tier == common_pb2.PRIORITY_TIER_UNSPECIFIED:
            item.priority_tier = common_pb2.PRIORITY_TIER_AUCTION
        raise_if(v.check_required_id(item.campaign_id, "line_item.campaign_id"))
        campaign = await self._campaign_of(item)
        raise_if(v.validate_line_item(item, await self._context(item, campaign)))
        item.create_time.CopyFrom(dt_to_ts(self._clock()))
        before = await self._campaign_line_items(item.campaign_id)
        await self._campaigns.create_line_item(item)
        self._notifier.notify(stores_touched([*before, item]))
        return admin_pb2.CreateLineItemResponse(line_item=item)

    async def get(self, request: admin_pb2.GetLineItemRequest) -> admin_pb2.GetLineItemResponse:
        return admin_pb2.GetLineItemResponse(line_item=await self._line_item(request.line_item_id))

    async def list_page(self, request: admin_pb2.ListLineItemsRequest) -> admin_pb2.ListLineItemsResponse:
        query = f"line_items:{request.campaign_id}:{request.advertiser_id}"
        page = decode_request(request.page_size, request.page_token, query)
        if request.advertiser_id:
            rows = await self._advertiser_line_items(request.advertiser_id, request.campaign_id, page)
        else:
            rows = await self._campaigns.list_line_items(page, request.campaign_id)
        token = next_token([r.line_item_id for r in rows], page.limit, query)
        return admin_pb2.ListLineItemsResponse(line_items=rows[: page.limit], next_page_token=token)

    async def update(self, request: admin_pb2.UpdateLineItemRequest) -> admin_pb2.UpdateLineItemResponse:
        current = await self._line_item(request.line_item.line_item_id, "line_item.line_item_id")
        merged = merge(current, request.line_item, request.update_mask, "line_item")
        if merged.state == admin_pb2.SERVING_STATE_UNSPECIFIED:
            merged.state = current.state
        if merged.priority_tier == common_pb2.PRIORITY_TIER_UNSPECIFIED:
            merged.priority_tier = common_pb2.PRIORITY_TIER_AUCTION
        campaign = await self._campaign_of(merged)
        raise_if(v.validate_line_item(merged, await self._context(merged, campaign)))
        await self._update_and_notify(current, merged)
        return admin_pb2.UpdateLineItemResponse(line_item=merged)

    async def delete(self, request: admin_pb2.DeleteLineItemRequest) -> admin_pb2.DeleteLineItemResponse:
        raise_if(v.check_required_id(request.line_item_id, "line_item_id"))
        found = await self._campaigns.get_line_item(request.line_item_id)
        before = await self._campaign_line_items(found.campaign_id) if found is not None else []
        await self._campaigns.delete_line_item(request.line_item_id)
        self._notifier.notify(stores_touched(before) if found is not None else None)
        return admin_pb2.DeleteLineItemResponse()

    async def pause(self, request: admin_pb2.PauseLineItemRequest) -> admin_pb2.PauseLineItemResponse:
        """Pausing a paused line item changes nothing."""
        return admin_pb2.PauseLineItemResponse(line_item=await self._set_state(request.line_item_id, PAUSED))

    async def resume(self, request: admin_pb2.ResumeLineItemRequest) -> admin_pb2.ResumeLineItemResponse:
        """Resuming an active line item changes nothing; one whose campaign has ended is refused."""
        return admin_pb2.ResumeLineItemResponse(line_item=await self._set_state(request.line_item_id, ACTIVE))

    async def _line_item(self, line_item_id: str, field: str = "line_item_id") -> admin_pb2.LineItem:
        return await existing("line item", line_item_id, field, self._campaigns.get_line_item)

    async def _campaign_of(self, item: admin_pb2.LineItem) -> admin_pb2.Campaign:
        return await existing("campaign", item.campaign_id, "line_item.campaign_id", self._campaigns.get_campaign)

    async def _context(self, item: admin_pb2.LineItem, campaign: admin_pb2.Campaign) -> v.LineItemContext:
        known_stores = await self._catalog.store_ids()
        targeted = [s for s in item.targeting.store_ids if s in known_stores]
        return v.LineItemContext(
            campaign_advertiser_id=campaign.advertiser_id,
            creative_advertisers=await self._campaigns.creative_advertisers(list(item.creative_ids)),
            known_store_ids=known_stores,
            catalog=await self._catalog.catalog_ids(targeted),
        )

    async def _advertiser_line_items(
        self, advertiser_id: str, campaign_id: str, page: PageRequest
    ) -> list[admin_pb2.LineItem]:
        ids = await self._access.advertiser_line_item_ids(advertiser_id, campaign_id, page)
        items = [await self._campaigns.get_line_item(i) for i in ids]
        return [item for item in items if item is not None]

    async def _set_state(self, line_item_id: str, state: admin_pb2.ServingState) -> admin_pb2.LineItem:
        item = await self._line_item(line_item_id)
        if item.state == state:
            return item
        if state == ACTIVE:
            refusal = resume_refusal(await self._campaign_of(item), self._clock())
            if refusal is not None:
                raise refusal
        changed = admin_pb2.LineItem()
        changed.CopyFrom(item)
        changed.state = state
        await self._update_and_notify(item, changed)
        return changed

    async def _update_and_notify(self, current: admin_pb2.LineItem, merged: admin_pb2.LineItem) -> None:
        """Store ``merged`` and recompile the stores its campaign (or campaigns) targeted before or after."""
        before = await self._campaign_line_items(current.campaign_id)
        if merged.campaign_id != current.campaign_id:
            before += await self._campaign_line_items(merged.campaign_id)
        await self._campaigns.update_line_item(merged)
        self._notifier.notify(stores_touched([*before, merged]))

    async def _campaign_line_items(self, campaign_id: str) -> list[admin_pb2.LineItem]:
        """Every line item of ``campaign_id`` as stored now."""
        found: dict[str, admin_pb2.LineItem] = {}
        after = ""
        while True:
            rows = await self._campaigns.list_line_items(PageRequest(after, _SCOPE_PAGE), campaign_id)
            found.update((r.line_item_id, r) for r in rows)
            if len(rows) < _SCOPE_PAGE:
                return list(found.values())
            after = rows[-1].line_item_id
