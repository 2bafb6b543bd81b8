"""GetDeliveryStatus: the facts of each store, gathered through two small Protocols, turned into the
status by the pure core (cloud_core/delivery/status.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.protobuf import json_format

from cartads.rpc.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from cartads.time_units import HOUR_US, dt_to_us, hour_start_us, ts_to_us, us_to_ts
from cartads.v1 import ad_service_pb2, admin_pb2, index_pb2
from cloud_core.access.auth import scoped_advertiser
from cloud_core.admin import validation as v
from cloud_core.admin.pagination import PageRequest
from cloud_core.admin.request_checks import existing, raise_if
from cloud_core.compile.change_scope import stores_touched
from cloud_core.delivery.leases import LeaseSettings, lease_window
from cloud_core.delivery.pacing import StorePacing
from cloud_core.delivery.status import StoreFacts, delivery_status
from cloud_core.storage.protocol import CampaignStore

_NO_FILL_PREFIX = "NO_FILL_REASON_"
# Line items of one campaign read at once (a campaign has a handful; this bounds a hostile one).
_MAX_LINE_ITEMS = 1_000


class DeliveryPreview(Protocol):
    """Each store's index and pacing plan as a compile now would make them, saving nothing
    (cloud_core/sync/service.py's IndexBuilder)."""

    async def preview_many(
        self, store_ids: Sequence[str]
    ) -> Mapping[str, tuple[index_pb2.StoreIndex, StorePacing | None]]: ...


class DeliveryReads(Protocol):
    """The request counts and spend the status reads (storage/pacing_stats.py)."""

    async def store_ids(self) -> frozenset[str]: ...
    async def request_counts(self, store_id: str, since_us: int) -> dict[tuple[int, int, int], tuple[int, int]]: ...
    async def line_item_request_counts(
        self, store_id: str, since_us: int
    ) -> dict[tuple[str, int], tuple[int, int]]: ...
    async def campaign_spend_since(self, campaign_id: str, since_us: int) -> dict[str, int]: ...


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _no_fill_name(reason: int) -> str:
    try:
        return ad_service_pb2.NoFillReason.Name(reason).removeprefix(_NO_FILL_PREFIX)
    except ValueError:
        return str(reason)


def _serving(item: index_pb2.IndexLineItem) -> bool:
    # Paused line items stay in the index but never serve.
    return not item.paused and not item.campaign_paused


class DeliveryAdmin:
    """GetDeliveryStatus for a campaign or one line item."""

    def __init__(
        self,
        campaigns: CampaignStore,
        preview: DeliveryPreview,
        reads: DeliveryReads,
        lease: LeaseSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._campaigns = campaigns
        self._preview = preview
        self._reads = reads
        self._lease = lease
        self._clock = clock

    async def _subject(
        self, request: admin_pb2.GetDeliveryStatusRequest
    ) -> tuple[admin_pb2.Campaign, frozenset[str], list[str] | None]:
        """The campaign, the line item ids the status covers and the stores they target (None: every
        store), so only those stores' indexes are previewed, not a thousand stores' for a local one."""
        if bool(request.campaign_id) == bool(request.line_item_id):
            raise_if([("campaign_id", "give exactly one of campaign_id and line_item_id")])
        if request.line_item_id:
            item = await existing("line item", request.line_item_id, "line_item_id", self._campaigns.get_line_item)
            campaign = await existing("campaign", item.campaign_id, "line_item_id", self._campaigns.get_campaign)
            ids = frozenset({item.line_item_id})
            stores = stores_touched([item])
        else:
            raise_if(v.check_id(request.campaign_id, "campaign_id"))
            campaign = await existing("campaign", request.campaign_id, "campaign_id", self._campaigns.get_campaign)
            items = await self._campaigns.list_line_items(PageRequest("", _MAX_LINE_ITEMS), campaign.campaign_id)
            ids = frozenset(li.line_item_id for li in items)
            stores = stores_touched(items)
        own = scoped_advertiser()
        if own and campaign.advertiser_id != own:
            # The interceptor refuses this first; kept here so the part is safe wherever it is wired.
            field = "line_item_id" if request.line_item_id else "campaign_id"
            raise PermissionDeniedError(f"the campaign belongs to another advertiser than {own!r}", field)
        return campaign, ids, stores

    async def _facts(
        self,
        store_id: str,
        index: index_pb2.StoreIndex,
        pacing: StorePacing | None,
        *,
        campaign_id: str,
        ids: frozenset[str],
        now_us: int,
    ) -> StoreFacts:
        items = [li for li in index.line_items if li.line_item_id in ids and _serving(li)]
        plans = [p for p in (pacing.plans if pacing is not None else ()) if ids.intersection(p.line_item_ids)]
        since = hour_start_us(now_us) - HOUR_US
        counts = await self._reads.line_item_request_counts(store_id, since)
        requests = await self._reads.request_counts(store_id, since)
        no_fills: dict[str, int] = {}
        for (_, _, reason), (n, _) in requests.items():
            if reason:
                name = _no_fill_name(reason)
                no_fills[name] = no_fills.get(name, 0) + n
        window_start = lease_window(now_us, self._lease.lease_period_s)[1]
        lease_spent = (await self._reads.campaign_spend_since(campaign_id, window_start)).get(store_id, 0)
        lead = items[0] if items else None
        rates = [li.pass_through_rate or 1.0 for li in items]
        return StoreFacts(
            store_id=store_id,
            tz=_zone(index.settings.time_zone),
            in_index=bool(items),
            plan_today_micros=sum(p.target_micros for p in plans),
            planned_by_now_micros=int(sum(p.planned_micros for p in plans)),
            spend_today_micros=sum(p.spent_micros for p in plans),
            pacing_rate=sum(rates) / len(rates) if rates else 1.0,
            # Every line item of a campaign carries the campaign's allowance and lease.
            lease_allowance_micros=lead.budget_allowance_micros if lead is not None else 0,
            lease_expire_us=ts_to_us(lead.budget_lease_expire_time) if lead is not None else 0,
            lease_spent_micros=lease_spent,
            ads_last_hour=sum(a for (lid, _), (a, _) in counts.items() if lid in ids),
            throttled_last_hour=sum(th for (lid, _), (_, th) in counts.items() if lid in ids),
            requests_last_hour=sum(n for n, _ in requests.values()),
            no_fills_last_hour=no_fills,
        )

    async def status(self, request: admin_pb2.GetDeliveryStatusRequest) -> admin_pb2.GetDeliveryStatusResponse:
        campaign, ids, stores = await self._subject(request)
        now_us = dt_to_us(self._clock())
        previews = await self._preview.preview_many(sorted(await self._reads.store_ids()) if stores is None else stores)
        facts = [
            await self._facts(store_id, index, pacing, campaign_id=campaign.campaign_id, ids=ids, now_us=now_us)
            for store_id, (index, pacing) in sorted(previews.items())
        ]
        # Stores it neither serves in nor has a plan for say nothing about it.
        facts = [f for f in facts if f.in_index or f.plan_today_micros or f.ads_last_hour or f.throttled_last_hour]
        status = delivery_status(facts, now_us)
        response = admin_pb2.GetDeliveryStatusResponse(
            campaign_id=campaign.campaign_id,
            line_item_id=request.line_item_id,
            state=status.state,
            spend_today_micros=status.spend_today_micros,
            plan_today_micros=status.plan_today_micros,
            planned_by_now_micros=status.planned_by_now_micros,
            pacing_rate=status.pacing_rate,
            summary=status.summary,
            as_of_time=us_to_ts(now_us),
        )
        for f in facts:
            store = response.stores.add(
                store_id=f.store_id,
                serving=f.in_index,
                spend_today_micros=f.spend_today_micros,
                plan_today_micros=f.plan_today_micros,
                planned_by_now_micros=f.planned_by_now_micros,
                pacing_rate=f.pacing_rate,
                lease_allowance_micros=f.lease_allowance_micros,
                lease_spent_micros=f.lease_spent_micros,
                ads_last_hour=f.ads_last_hour,
                throttled_last_hour=f.throttled_last_hour,
                requests_last_hour=f.requests_last_hour,
                no_fill_requests_last_hour=sum(f.no_fills_last_hour.values()),
            )
            if f.lease_expire_us:
                store.lease_expire_time.CopyFrom(us_to_ts(f.lease_expire_us))
        for r in status.reasons:
            response.reasons.add(code=r.code, store_id=r.store_id, requests=r.requests, text=r.text)
        return response


def console_reader(admin: DeliveryAdmin) -> Callable[[str], Awaitable[dict[str, Any] | None]]:
    """The operator console's read of a campaign's status: its JSON, or None when the campaign does
    not exist (or its id could not name one)."""

    async def read(campaign_id: str) -> dict[str, Any] | None:
        try:
            response = await admin.status(admin_pb2.GetDeliveryStatusRequest(campaign_id=campaign_id))
        except (NotFoundError, InvalidArgumentError):
            return None
        return json_format.MessageToDict(
            response, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )

    return read
