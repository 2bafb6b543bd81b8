"""AdminService: thin gRPC shell over validation (pure) and the store (I/O)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from cartads.rpc.errors import (
    Ctx,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    maps_errors,
)
from cartads.time_units import dt_to_ts, us_to_ts
from cartads.v1 import admin_pb2, admin_pb2_grpc
from cloud_core.access.auth import scoped_advertiser
from cloud_core.admin import validation as v
from cloud_core.admin.assets import AssetAdminMixin, check_creative
from cloud_core.admin.edges import EdgeAdminMixin
from cloud_core.admin.experiments import ExperimentAdminMixin
from cloud_core.admin.pagination import PageRequest, decode_request, next_token
from cloud_core.admin.serving_state import ServingStateMixin, resume_refusal
from cloud_core.admin.tokens import TokenAdminMixin
from cloud_core.storage.protocol import CloudStore
from cloud_core.sync.notifier import ChangeNotifier

M = TypeVar("M", bound=Message)
SIGNING_KEY_BYTES = 32


def new_id(prefix: str) -> str:
    """A server-made id, e.g. "cmp-3f2a9c1b7d4e"."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _raise_if(violations: Sequence[v.Violation]) -> None:
    if violations:
        raise InvalidArgumentError(violations)


def _choose_id(request_id: str, body_id: str, field: str, prefix: str) -> str:
    given = request_id or body_id
    if not given:
        return new_id(prefix)
    _raise_if(v.check_id(given, field))
    return given


def _merge(existing: M, patch: M, mask: FieldMask, resource: str) -> M:
    """``existing`` with the masked fields taken from ``patch`` (empty mask: every settable field)."""
    _raise_if(v.check_update_mask(list(mask.paths), resource))
    merged = type(existing)()
    merged.CopyFrom(existing)
    paths = FieldMask(paths=v.effective_paths(list(mask.paths), resource))
    paths.MergeMessage(patch, merged, replace_message_field=True, replace_repeated_field=True)
    return merged


def _no_cache(token_ids: Sequence[str]) -> None:
    del token_ids


class AdminServicer(
    EdgeAdminMixin,
    AssetAdminMixin,
    TokenAdminMixin,
    ServingStateMixin,
    ExperimentAdminMixin,
    admin_pb2_grpc.AdminServiceServicer,
):
    """Advertisers, campaigns, line items, creatives, stores, catalogs, tokens and the spend report."""

    def __init__(
        self,
        store: CloudStore,
        notifier: ChangeNotifier,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_revoke: Callable[[Sequence[str]], None] = _no_cache,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._clock = clock
        # Tells the token cache of this replica to forget a token the moment it is revoked.
        self._on_revoke = on_revoke

    # ---- advertisers ----

    @maps_errors
    async def CreateAdvertiser(  # noqa: N802
        self, request: admin_pb2.CreateAdvertiserRequest, context: Ctx
    ) -> admin_pb2.CreateAdvertiserResponse:
        adv = admin_pb2.Advertiser()
        adv.CopyFrom(request.advertiser)
        adv.advertiser_id = _choose_id(request.advertiser_id, adv.advertiser_id, "advertiser_id", "adv")
        _raise_if(v.validate_advertiser(adv))
        adv.create_time.CopyFrom(dt_to_ts(self._clock()))
        await self._store.create_advertiser(adv)
        return admin_pb2.CreateAdvertiserResponse(advertiser=adv)

    async def _advertiser(self, advertiser_id: str, field: str) -> admin_pb2.Advertiser:
        _raise_if(v.check_required_id(advertiser_id, field))
        adv = await self._store.get_advertiser(advertiser_id)
        if adv is None:
            raise NotFoundError(f"advertiser {advertiser_id!r} does not exist", field)
        return adv

    @maps_errors
    async def GetAdvertiser(  # noqa: N802
        self, request: admin_pb2.GetAdvertiserRequest, context: Ctx
    ) -> admin_pb2.GetAdvertiserResponse:
        return admin_pb2.GetAdvertiserResponse(
            advertiser=await self._advertiser(request.advertiser_id, "advertiser_id")
        )

    @maps_errors
    async def ListAdvertisers(  # noqa: N802
        self, request: admin_pb2.ListAdvertisersRequest, context: Ctx
    ) -> admin_pb2.ListAdvertisersResponse:
        query = "advertisers"
        page = decode_request(request.page_size, request.page_token, query)
        own = scoped_advertiser()
        if own:
            # An advertiser token sees only its own advertiser.
            adv = await self._store.get_advertiser(own) if own > page.after_id else None
            return admin_pb2.ListAdvertisersResponse(advertisers=[adv] if adv else [])
        rows = await self._store.list_advertisers(page)
        token = next_token([r.advertiser_id for r in rows], page.limit, query)
        return admin_pb2.ListAdvertisersResponse(advertisers=rows[: page.limit], next_page_token=token)

    @maps_errors
    async def UpdateAdvertiser(  # noqa: N802
        self, request: admin_pb2.UpdateAdvertiserRequest, context: Ctx
    ) -> admin_pb2.UpdateAdvertiserResponse:
        existing = await self._advertiser(request.advertiser.advertiser_id, "advertiser.advertiser_id")
        merged = _merge(existing, request.advertiser, request.update_mask, "advertiser")
        _raise_if(v.validate_advertiser(merged))
        await self._store.update_advertiser(merged)
        return admin_pb2.UpdateAdvertiserResponse(advertiser=merged)

    @maps_errors
    async def DeleteAdvertiser(  # noqa: N802
        self, request: admin_pb2.DeleteAdvertiserRequest, context: Ctx
    ) -> admin_pb2.DeleteAdvertiserResponse:
        _raise_if(v.check_required_id(request.advertiser_id, "advertiser_id"))
        await self._store.delete_advertiser(request.advertiser_id)
        return admin_pb2.DeleteAdvertiserResponse()

    # ---- campaigns ----

    @maps_errors
    async def CreateCampaign(  # noqa: N802
        self, request: admin_pb2.CreateCampaignRequest, context: Ctx
    ) -> admin_pb2.CreateCampaignResponse:
        campaign = admin_pb2.Campaign()
        campaign.CopyFrom(request.campaign)
        campaign.campaign_id = _choose_id(request.campaign_id, campaign.campaign_id, "campaign_id", "cmp")
        if campaign.state == admin_pb2.SERVING_STATE_UNSPECIFIED:
            campaign.state = admin_pb2.SERVING_STATE_ACTIVE
        _raise_if(v.validate_campaign(campaign))
        await self._advertiser(campaign.advertiser_id, "campaign.advertiser_id")
        campaign.create_time.CopyFrom(dt_to_ts(self._clock()))
        await self._store.create_campaign(campaign)
        self._notifier.notify()
        return admin_pb2.CreateCampaignResponse(campaign=campaign)

    async def _campaign(self, campaign_id: str, field: str) -> admin_pb2.Campaign:
        _raise_if(v.check_required_id(campaign_id, field))
        campaign = await self._store.get_campaign(campaign_id)
        if campaign is None:
            raise NotFoundError(f"campaign {campaign_id!r} does not exist", field)
        return campaign

    @maps_errors
    async def GetCampaign(self, request: admin_pb2.GetCampaignRequest, context: Ctx) -> admin_pb2.GetCampaignResponse:  # noqa: N802
        return admin_pb2.GetCampaignResponse(campaign=await self._campaign(request.campaign_id, "campaign_id"))

    @maps_errors
    async def ListCampaigns(  # noqa: N802
        self, request: admin_pb2.ListCampaignsRequest, context: Ctx
    ) -> admin_pb2.ListCampaignsResponse:
        query = f"campaigns:{request.advertiser_id}"
        page = decode_request(request.page_size, request.page_token, query)
        rows = await self._store.list_campaigns(page, request.advertiser_id)
        token = next_token([r.campaign_id for r in rows], page.limit, query)
        return admin_pb2.ListCampaignsResponse(campaigns=rows[: page.limit], next_page_token=token)

    @maps_errors
    async def UpdateCampaign(  # noqa: N802
        self, request: admin_pb2.UpdateCampaignRequest, context: Ctx
    ) -> admin_pb2.UpdateCampaignResponse:
        existing = await self._campaign(request.campaign.campaign_id, "campaign.campaign_id")
        merged = _merge(existing, request.campaign, request.update_mask, "campaign")
        if merged.state == admin_pb2.SERVING_STATE_UNSPECIFIED:
            merged.state = existing.state
        _raise_if(v.validate_campaign(merged))
        if merged.state == admin_pb2.SERVING_STATE_ACTIVE and existing.state != admin_pb2.SERVING_STATE_ACTIVE:
            refusal = resume_refusal(merged, self._clock())
            if refusal is not None:
                raise refusal
        await self._store.update_campaign(merged)
        self._notifier.notify()
        return admin_pb2.UpdateCampaignResponse(campaign=merged)

    @maps_errors
    async def DeleteCampaign(  # noqa: N802
        self, request: admin_pb2.DeleteCampaignRequest, context: Ctx
    ) -> admin_pb2.DeleteCampaignResponse:
        _raise_if(v.check_required_id(request.campaign_id, "campaign_id"))
        await self._store.delete_campaign(request.campaign_id)
        self._notifier.notify()
        return admin_pb2.DeleteCampaignResponse()

    # ---- line items ----

    async def _line_item_context(self, item: admin_pb2.LineItem, campaign: admin_pb2.Campaign) -> v.LineItemContext:
        known_stores = await self._store.store_ids()
        targeted = [s for s in item.targeting.store_ids if s in known_stores]
        return v.LineItemContext(
            campaign_advertiser_id=campaign.advertiser_id,
            creative_advertisers=await self._store.creative_advertisers(list(item.creative_ids)),
            known_store_ids=known_stores,
            catalog=await self._store.catalog_ids(targeted),
        )

    @maps_errors
    async def CreateLineItem(  # noqa: N802
        self, request: admin_pb2.CreateLineItemRequest, context: Ctx
    ) -> admin_pb2.CreateLineItemResponse:
        item = admin_pb2.LineItem()
        item.CopyFrom(request.line_item)
        item.line_item_id = _choose_id(request.line_item_id, item.line_item_id, "line_item_id", "li")
        if item.state == admin_pb2.SERVING_STATE_UNSPECIFIED:
            item.state = admin_pb2.SERVING_STATE_ACTIVE
        _raise_if(v.check_required_id(item.campaign_id, "line_item.campaign_id"))
        campaign = await self._campaign(item.campaign_id, "line_item.campaign_id")
        _raise_if(v.validate_line_item(item, await self._line_item_context(item, campaign)))
        item.create_time.CopyFrom(dt_to_ts(self._clock()))
        await self._store.create_line_item(item)
        self._notifier.notify()
        return admin_pb2.CreateLineItemResponse(line_item=item)

    async def _line_item(self, line_item_id: str, field: str) -> admin_pb2.LineItem:
        _raise_if(v.check_required_id(line_item_id, field))
        item = await self._store.get_line_item(line_item_id)
        if item is None:
            raise NotFoundError(f"line item {line_item_id!r} does not exist", field)
        return item

    @maps_errors
    async def GetLineItem(self, request: admin_pb2.GetLineItemRequest, context: Ctx) -> admin_pb2.GetLineItemResponse:  # noqa: N802
        return admin_pb2.GetLineItemResponse(line_item=await self._line_item(request.line_item_id, "line_item_id"))

    @maps_errors
    async def ListLineItems(  # noqa: N802
        self, request: admin_pb2.ListLineItemsRequest, context: Ctx
    ) -> admin_pb2.ListLineItemsResponse:
        query = f"line_items:{request.campaign_id}:{request.advertiser_id}"
        page = decode_request(request.page_size, request.page_token, query)
        if request.advertiser_id:
            rows = await self._advertiser_line_items(request.advertiser_id, request.campaign_id, page)
        else:
            rows = await self._store.list_line_items(page, request.campaign_id)
        token = next_token([r.line_item_id for r in rows], page.limit, query)
        return admin_pb2.ListLineItemsResponse(line_items=rows[: page.limit], next_page_token=token)

    async def _advertiser_line_items(
        self, advertiser_id: str, campaign_id: str, page: PageRequest
    ) -> list[admin_pb2.LineItem]:
        ids = await self._store.advertiser_line_item_ids(advertiser_id, campaign_id, page)
        items = [await self._store.get_line_item(i) for i in ids]
        return [item for item in items if item is not None]

    @maps_errors
    async def UpdateLineItem(  # noqa: N802
        self, request: admin_pb2.UpdateLineItemRequest, context: Ctx
    ) -> admin_pb2.UpdateLineItemResponse:
        existing = await self._line_item(request.line_item.line_item_id, "line_item.line_item_id")
        merged = _merge(existing, request.line_item, request.update_mask, "line_item")
        if merged.state == admin_pb2.SERVING_STATE_UNSPECIFIED:
            merged.state = existing.state
        campaign = await self._campaign(merged.campaign_id, "line_item.campaign_id")
        _raise_if(v.validate_line_item(merged, await self._line_item_context(merged, campaign)))
        await self._store.update_line_item(merged)
        self._notifier.notify()
        return admin_pb2.UpdateLineItemResponse(line_item=merged)

    @maps_errors
    async def DeleteLineItem(  # noqa: N802
        self, request: admin_pb2.DeleteLineItemRequest, context: Ctx
    ) -> admin_pb2.DeleteLineItemResponse:
        _raise_if(v.check_required_id(request.line_item_id, "line_item_id"))
        await self._store.delete_line_item(request.line_item_id)
        self._notifier.notify()
        return admin_pb2.DeleteLineItemResponse()

    # ---- creatives ----

    @maps_errors
    async def CreateCreative(  # noqa: N802
        self, request: admin_pb2.CreateCreativeRequest, context: Ctx
    ) -> admin_pb2.CreateCreativeResponse:
        creative = admin_pb2.CreativeSpec()
        creative.CopyFrom(request.creative)
        creative.creative_id = _choose_id(request.creative_id, creative.creative_id, "creative_id", "cr")
        _raise_if(v.validate_creative(creative))
        await check_creative(self._store, creative)
        await self._check_asset_uploader(creative.image_asset_sha256, "")
        await self._advertiser(creative.advertiser_id, "creative.advertiser_id")
        creative.create_time.CopyFrom(dt_to_ts(self._clock()))
        await self._store.create_creative(creative)
        return admin_pb2.CreateCreativeResponse(creative=creative)

    async def _check_asset_uploader(self, sha256: str, unchanged_sha256: str) -> None:
        """An advertiser token may show an asset only if it uploaded it (hashes could be learned elsewhere)."""
        own = scoped_advertiser()
        if own and sha256 and sha256 != unchanged_sha256 and not await self._store.uploaded_by(sha256, own):
            raise PermissionDeniedError(
                f"asset {sha256[:12]}… was not uploaded by advertiser {own!r}; upload it with this token",
                "creative.image_asset_sha256",
            )

    async def _creative(self, creative_id: str, field: str) -> admin_pb2.CreativeSpec:
        _raise_if(v.check_required_id(creative_id, field))
        creative = await self._store.get_creative(creative_id)
        if creative is None:
            raise NotFoundError(f"creative {creative_id!r} does not exist", field)
        return creative

    @maps_errors
    async def GetCreative(self, request: admin_pb2.GetCreativeRequest, context: Ctx) -> admin_pb2.GetCreativeResponse:  # noqa: N802
        return admin_pb2.GetCreativeResponse(creative=await self._creative(request.creative_id, "creative_id"))

    @maps_errors
    async def ListCreatives(  # noqa: N802
        self, request: admin_pb2.ListCreativesRequest, context: Ctx
    ) -> admin_pb2.ListCreativesResponse:
        query = f"creatives:{request.advertiser_id}"
        page = decode_request(request.page_size, request.page_token, query)
        rows = await self._store.list_creatives(page, request.advertiser_id)
        token = next_token([r.creative_id for r in rows], page.limit, query)
        return admin_pb2.ListCreativesResponse(creatives=rows[: page.limit], next_page_token=token)

    @maps_errors
    async def UpdateCreative(  # noqa: N802
        self, request: admin_pb2.UpdateCreativeRequest, context: Ctx
    ) -> admin_pb2.UpdateCreativeResponse:
        existing = await self._creative(request.creative.creative_id, "creative.creative_id")
        merged = _merge(existing, request.creative, request.update_mask, "creative")
        _raise_if(v.validate_creative(merged))
        await check_creative(self._store, merged)
        await self._check_asset_uploader(merged.image_asset_sha256, existing.image_asset_sha256)
        await self._store.update_creative(merged)
        self._notifier.notify()
        return admin_pb2.UpdateCreativeResponse(creative=merged)

    @maps_errors
    async def DeleteCreative(  # noqa: N802
        self, request: admin_pb2.DeleteCreativeRequest, context: Ctx
    ) -> admin_pb2.DeleteCreativeResponse:
        _raise_if(v.check_required_id(request.creative_id, "creative_id"))
        await self._store.delete_creative(request.creative_id)
        return admin_pb2.DeleteCreativeResponse()

    # ---- stores and catalogs ----

    @maps_errors
    async def CreateStore(self, request: admin_pb2.CreateStoreRequest, context: Ctx) -> admin_pb2.CreateStoreResponse:  # noqa: N802
        store = admin_pb2.Store()
        store.CopyFrom(request.store)
        store.store_id = _choose_id(request.store_id, store.store_id, "store_id", "store")
        store.time_zone = store.time_zone or "UTC"
        _raise_if(v.validate_store(store))
        store.create_time.CopyFrom(dt_to_ts(self._clock()))
        await self._store.create_store(store, secrets.token_bytes(SIGNING_KEY_BYTES))
        self._notifier.notify([store.store_id])
        return admin_pb2.CreateStoreResponse(store=store)

    async def _get_store(self, store_id: str, field: str) -> admin_pb2.Store:
        _raise_if(v.check_required_id(store_id, field))
        store = await self._store.get_store(store_id)
        if store is None:
            raise NotFoundError(f"store {store_id!r} does not exist", field)
        return store

    @maps_errors
    async def GetStore(self, request: admin_pb2.GetStoreRequest, context: Ctx) -> admin_pb2.GetStoreResponse:  # noqa: N802
        return admin_pb2.GetStoreResponse(store=await self._get_store(request.store_id, "store_id"))

    @maps_errors
    async def ListStores(self, request: admin_pb2.ListStoresRequest, context: Ctx) -> admin_pb2.ListStoresResponse:  # noqa: N802
        query = "stores"
        page = decode_request(request.page_size, request.page_token, query)
        rows = await self._store.list_stores(page)
        token = next_token([r.store_id for r in rows], page.limit, query)
        return admin_pb2.ListStoresResponse(stores=rows[: page.limit], next_page_token=token)

    @maps_errors
    async def UpdateStore(self, request: admin_pb2.UpdateStoreRequest, context: Ctx) -> admin_pb2.UpdateStoreResponse:  # noqa: N802
        existing = await self._get_store(request.store.store_id, "store.store_id")
        merged = _merge(existing, request.store, request.update_mask, "store")
        _raise_if(v.validate_store(merged))
        await self._store.update_store(merged)
        self._notifier.notify([merged.store_id])
        return admin_pb2.UpdateStoreResponse(store=merged)

    @maps_errors
    async def DeleteStore(self, request: admin_pb2.DeleteStoreRequest, context: Ctx) -> admin_pb2.DeleteStoreResponse:  # noqa: N802
        _raise_if(v.check_required_id(request.store_id, "store_id"))
        connected = [
            e.edge_id for e in await self._store.list_edges(request.store_id, PageRequest("", 1000)) if e.connected
        ]
        if connected:
            raise FailedPreconditionError(
                f"store {request.store_id!r} still has connected edges ({', '.join(connected)}); stop them first"
            )
        await self._store.delete_store(request.store_id)
        self._notifier.notify([request.store_id])
        return admin_pb2.DeleteStoreResponse()

    @maps_errors
    async def ImportCatalog(  # noqa: N802
        self, request: AsyncIterator[admin_pb2.ImportCatalogRequest], context: Ctx
    ) -> admin_pb2.ImportCatalogResponse:
        store_id = ""
        aisles: list[admin_pb2.Aisle] = []
        departments: list[admin_pb2.Department] = []
        products: list[admin_pb2.Product] = []
        async for message in request:
            if not message.store_id:
                raise InvalidArgumentError([("store_id", "is required in every message")])
            if store_id and message.store_id != store_id:
                raise InvalidArgumentError([("store_id", "every message must name the same store")])
            store_id = message.store_id
            aisles.extend(message.aisles)
            departments.extend(message.departments)
            products.extend(message.products)
        if not store_id:
            raise InvalidArgumentError([("store_id", "is required")])
        await self._get_store(store_id, "store_id")
        known_aisles, known_depts = await self._store.catalog_parent_ids(store_id)
        _raise_if(
            v.validate_catalog(
                aisles,
                departments,
                products,
                known_aisles | {a.aisle_id for a in aisles},
                known_depts | {d.department_id for d in departments},
            )
        )
        await self._store.import_catalog(store_id, aisles, departments, products)
        self._notifier.notify([store_id])
        return admin_pb2.ImportCatalogResponse(
            aisle_count=len(aisles), department_count=len(departments), product_count=len(products)
        )

    @maps_errors
    async def ListProducts(  # noqa: N802
        self, request: admin_pb2.ListProductsRequest, context: Ctx
    ) -> admin_pb2.ListProductsResponse:
        query = f"products:{request.store_id}"
        page = decode_request(request.page_size, request.page_token, query)
        await self._get_store(request.store_id, "store_id")
        rows = await self._store.list_products(request.store_id, page)
        token = next_token([r.product_id for r in rows], page.limit, query)
        return admin_pb2.ListProductsResponse(products=rows[: page.limit], next_page_token=token)

    @maps_errors
    async def ListAisles(self, request: admin_pb2.ListAislesRequest, context: Ctx) -> admin_pb2.ListAislesResponse:  # noqa: N802
        query = f"aisles:{request.store_id}"
        page = decode_request(request.page_size, request.page_token, query)
        await self._get_store(request.store_id, "store_id")
        rows = await self._store.list_aisles(request.store_id, page)
        token = next_token([r.aisle_id for r in rows], page.limit, query)
        return admin_pb2.ListAislesResponse(aisles=rows[: page.limit], next_page_token=token)

    # ---- reports ----

    @maps_errors
    async def GetSpendReport(  # noqa: N802
        self, request: admin_pb2.GetSpendReportRequest, context: Ctx
    ) -> admin_pb2.GetSpendReportResponse:
        if request.store_id:
            await self._get_store(request.store_id, "store_id")
        if request.advertiser_id:
            await self._advertiser(request.advertiser_id, "advertiser_id")
        rows = await self._store.spend_report(request.store_id, request.advertiser_id)
        return admin_pb2.GetSpendReportResponse(
            campaigns=rows,
            total_spend_micros=sum(r.spend_micros for r in rows),
            billed_event_count=sum(r.impressions + r.clicks + r.conversions for r in rows),
        )

    @maps_errors
    async def ListDeadLetters(  # noqa: N802
        self, request: admin_pb2.ListDeadLettersRequest, context: Ctx
    ) -> admin_pb2.ListDeadLettersResponse:
        if not request.store_id:
            raise InvalidArgumentError([("store_id", "is required")])
        query = f"dead_letters:{request.store_id}"
        page = decode_request(request.page_size, request.page_token, query)
        await self._get_store(request.store_id, "store_id")
        try:
            after_id = int(page.after_id or 0)
        except ValueError as exc:
            raise InvalidArgumentError([("page_token", "is not a token this server issued")]) from exc
        rows = await self._store.dead_letters(request.store_id, after_id, page.limit + 1)
        token = next_token([str(r.dead_letter_id) for r in rows], page.limit, query)
        return admin_pb2.ListDeadLettersResponse(
            dead_letters=[
                admin_pb2.DeadLetter(
                    store_id=r.store_id,
                    edge_id=r.edge_id,
                    seq=r.seq,
                    event_id=r.event_id,
                    reason=r.reason,
                    event_type=r.event_type,  # type: ignore[arg-type]
                    create_time=us_to_ts(r.create_time_us),
                )
                for r in rows[: page.limit]
            ],
            next_page_token=token,
        )
