# ruff: noqa: N802 - the methods are named by the proto
"""AdminService over gRPC: every method hands its request to the part that owns the resource.

The parts (one class per resource, in the module of that name; assets sit with creatives, catalogs
with stores) hold the logic and take only the storage Protocols they need; this servicer only wires
them and maps their errors to gRPC statuses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cartads.rpc.errors import Ctx, maps_errors
from cartads.v1 import admin_pb2, admin_pb2_grpc
from cloud_core.admin.advertisers import AdvertiserAdmin
from cloud_core.admin.campaigns import CampaignAdmin
from cloud_core.admin.creatives import AssetAdmin, CreativeAdmin
from cloud_core.admin.edges import EdgeAdmin
from cloud_core.admin.experiments import ExperimentAdmin
from cloud_core.admin.line_items import LineItemAdmin
from cloud_core.admin.reports import ReportAdmin
from cloud_core.admin.request_checks import NotServedYetError
from cloud_core.admin.stores import CatalogAdmin, StoreAdmin
from cloud_core.admin.tokens import TokenAdmin
from cloud_core.storage.protocol import (
    AccessStore,
    AdvertiserStore,
    AssetStore,
    CampaignStore,
    CatalogStore,
    EdgeStatusStore,
    ExperimentStore,
    LedgerStore,
    ReportStore,
)
from cloud_core.sync.notifier import ChangeNotifier


@dataclass(frozen=True)
class AdminStorage:
    """The storage AdminService reads and writes, one Protocol per concern."""

    advertisers: AdvertiserStore
    # Campaigns, their line items and creatives.
    campaigns: CampaignStore
    # Stores and their catalogs.
    catalog: CatalogStore
    assets: AssetStore
    # API tokens, who uploaded which asset, and the line items an advertiser token may list.
    access: AccessStore
    edges: EdgeStatusStore
    experiments: ExperimentStore
    # The report rollups (a report's lift reads its layers from ``experiments``).
    reports: ReportStore
    # Spend and the dead letters.
    ledger: LedgerStore


def _no_cache(token_ids: Sequence[str]) -> None:
    del token_ids


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    """Advertisers, campaigns, line items, creatives, stores, catalogs, edges, experiments, reports, tokens."""

    def __init__(
        self,
        storage: AdminStorage,
        notifier: ChangeNotifier,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_revoke: Callable[[Sequence[str]], None] = _no_cache,
    ) -> None:
        self._advertisers = AdvertiserAdmin(storage.advertisers, clock)
        self._campaigns = CampaignAdmin(storage.campaigns, storage.advertisers, notifier, clock)
        self._line_items = LineItemAdmin(storage.campaigns, storage.catalog, storage.access, notifier, clock)
        self._creatives = CreativeAdmin(
            campaigns=storage.campaigns,
            advertisers=storage.advertisers,
            assets=storage.assets,
            access=storage.access,
            notifier=notifier,
            clock=clock,
        )
        self._assets = AssetAdmin(storage.assets, storage.access, clock)
        self._stores = StoreAdmin(storage.catalog, storage.edges, notifier, clock)
        self._catalog = CatalogAdmin(storage.catalog, notifier)
        self._edges = EdgeAdmin(storage.edges)
        self._experiments = ExperimentAdmin(storage.experiments, notifier, clock)
        self._reports = ReportAdmin(
            storage.reports, storage.experiments, storage.ledger, storage.advertisers, storage.catalog
        )
        self._tokens = TokenAdmin(storage.access, storage.advertisers, storage.catalog, clock, on_revoke)

    # ---- advertisers ----

    @maps_errors
    async def CreateAdvertiser(
        self, request: admin_pb2.CreateAdvertiserRequest, context: Ctx
    ) -> admin_pb2.CreateAdvertiserResponse:
        return await self._advertisers.create(request)

    @maps_errors
    async def GetAdvertiser(
        self, request: admin_pb2.GetAdvertiserRequest, context: Ctx
    ) -> admin_pb2.GetAdvertiserResponse:
        return await self._advertisers.get(request)

    @maps_errors
    async def ListAdvertisers(
        self, request: admin_pb2.ListAdvertisersRequest, context: Ctx
    ) -> admin_pb2.ListAdvertisersResponse:
        return await self._advertisers.list_page(request)

    @maps_errors
    async def UpdateAdvertiser(
        self, request: admin_pb2.UpdateAdvertiserRequest, context: Ctx
    ) -> admin_pb2.UpdateAdvertiserResponse:
        return await self._advertisers.update(request)

    @maps_errors
    async def DeleteAdvertiser(
        self, request: admin_pb2.DeleteAdvertiserRequest, context: Ctx
    ) -> admin_pb2.DeleteAdvertiserResponse:
        return await self._advertisers.delete(request)

    # ---- campaigns ----

    @maps_errors
    async def CreateCampaign(
        self, request: admin_pb2.CreateCampaignRequest, context: Ctx
    ) -> admin_pb2.CreateCampaignResponse:
        return await self._campaigns.create(request)

    @maps_errors
    async def GetCampaign(self, request: admin_pb2.GetCampaignRequest, context: Ctx) -> admin_pb2.GetCampaignResponse:
        return await self._campaigns.get(request)

    @maps_errors
    async def ListCampaigns(
        self, request: admin_pb2.ListCampaignsRequest, context: Ctx
    ) -> admin_pb2.ListCampaignsResponse:
        return await self._campaigns.list_page(request)

    @maps_errors
    async def UpdateCampaign(
        self, request: admin_pb2.UpdateCampaignRequest, context: Ctx
    ) -> admin_pb2.UpdateCampaignResponse:
        return await self._campaigns.update(request)

    @maps_errors
    async def DeleteCampaign(
        self, request: admin_pb2.DeleteCampaignRequest, context: Ctx
    ) -> admin_pb2.DeleteCampaignResponse:
        return await self._campaigns.delete(request)

    @maps_errors
    async def PauseCampaign(
        self, request: admin_pb2.PauseCampaignRequest, context: Ctx
    ) -> admin_pb2.PauseCampaignResponse:
        return await self._campaigns.pause(request)

    @maps_errors
    async def ResumeCampaign(
        self, request: admin_pb2.ResumeCampaignRequest, context: Ctx
    ) -> admin_pb2.ResumeCampaignResponse:
        return await self._campaigns.resume(request)

    # ---- line items ----

    @maps_errors
    async def CreateLineItem(
        self, request: admin_pb2.CreateLineItemRequest, context: Ctx
    ) -> admin_pb2.CreateLineItemResponse:
        return await self._line_items.create(request)

    @maps_errors
    async def GetLineItem(self, request: admin_pb2.GetLineItemRequest, context: Ctx) -> admin_pb2.GetLineItemResponse:
        return await self._line_items.get(request)

    @maps_errors
    async def ListLineItems(
        self, request: admin_pb2.ListLineItemsRequest, context: Ctx
    ) -> admin_pb2.ListLineItemsResponse:
        return await self._line_items.list_page(request)

    @maps_errors
    async def UpdateLineItem(
        self, request: admin_pb2.UpdateLineItemRequest, context: Ctx
    ) -> admin_pb2.UpdateLineItemResponse:
        return await self._line_items.update(request)

    @maps_errors
    async def DeleteLineItem(
        self, request: admin_pb2.DeleteLineItemRequest, context: Ctx
    ) -> admin_pb2.DeleteLineItemResponse:
        return await self._line_items.delete(request)

    @maps_errors
    async def PauseLineItem(
        self, request: admin_pb2.PauseLineItemRequest, context: Ctx
    ) -> admin_pb2.PauseLineItemResponse:
        return await self._line_items.pause(request)

    @maps_errors
    async def ResumeLineItem(
        self, request: admin_pb2.ResumeLineItemRequest, context: Ctx
    ) -> admin_pb2.ResumeLineItemResponse:
        return await self._line_items.resume(request)

    # ---- creatives and their images ----

    @maps_errors
    async def CreateCreative(
        self, request: admin_pb2.CreateCreativeRequest, context: Ctx
    ) -> admin_pb2.CreateCreativeResponse:
        return await self._creatives.create(request)

    @maps_errors
    async def GetCreative(self, request: admin_pb2.GetCreativeRequest, context: Ctx) -> admin_pb2.GetCreativeResponse:
        return await self._creatives.get(request)

    @maps_errors
    async def ListCreatives(
        self, request: admin_pb2.ListCreativesRequest, context: Ctx
    ) -> admin_pb2.ListCreativesResponse:
        return await self._creatives.list_page(request)

    @maps_errors
    async def UpdateCreative(
        self, request: admin_pb2.UpdateCreativeRequest, context: Ctx
    ) -> admin_pb2.UpdateCreativeResponse:
        return await self._creatives.update(request)

    @maps_errors
    async def DeleteCreative(
        self, request: admin_pb2.DeleteCreativeRequest, context: Ctx
    ) -> admin_pb2.DeleteCreativeResponse:
        return await self._creatives.delete(request)

    @maps_errors
    async def UploadAsset(
        self, request: AsyncIterator[admin_pb2.UploadAssetRequest], context: Ctx
    ) -> admin_pb2.UploadAssetResponse:
        return await self._assets.upload(request)

    # ---- stores and their catalogs ----

    @maps_errors
    async def CreateStore(self, request: admin_pb2.CreateStoreRequest, context: Ctx) -> admin_pb2.CreateStoreResponse:
        return await self._stores.create(request)

    @maps_errors
    async def GetStore(self, request: admin_pb2.GetStoreRequest, context: Ctx) -> admin_pb2.GetStoreResponse:
        return await self._stores.get(request)

    @maps_errors
    async def ListStores(self, request: admin_pb2.ListStoresRequest, context: Ctx) -> admin_pb2.ListStoresResponse:
        return await self._stores.list_page(request)

    @maps_errors
    async def UpdateStore(self, request: admin_pb2.UpdateStoreRequest, context: Ctx) -> admin_pb2.UpdateStoreResponse:
        return await self._stores.update(request)

    @maps_errors
    async def DeleteStore(self, request: admin_pb2.DeleteStoreRequest, context: Ctx) -> admin_pb2.DeleteStoreResponse:
        return await self._stores.delete(request)

    @maps_errors
    async def ImportCatalog(
        self, request: AsyncIterator[admin_pb2.ImportCatalogRequest], context: Ctx
    ) -> admin_pb2.ImportCatalogResponse:
        return await self._catalog.import_catalog(request)

    @maps_errors
    async def ListProducts(
        self, request: admin_pb2.ListProductsRequest, context: Ctx
    ) -> admin_pb2.ListProductsResponse:
        return await self._catalog.list_products(request)

    @maps_errors
    async def ListAisles(self, request: admin_pb2.ListAislesRequest, context: Ctx) -> admin_pb2.ListAislesResponse:
        return await self._catalog.list_aisles(request)

    # ---- edges ----

    @maps_errors
    async def ListEdges(self, request: admin_pb2.ListEdgesRequest, context: Ctx) -> admin_pb2.ListEdgesResponse:
        return await self._edges.list_page(request)

    # ---- experiment layers ----

    @maps_errors
    async def CreateExperimentLayer(
        self, request: admin_pb2.CreateExperimentLayerRequest, context: Ctx
    ) -> admin_pb2.CreateExperimentLayerResponse:
        return await self._experiments.create(request)

    @maps_errors
    async def GetExperimentLayer(
        self, request: admin_pb2.GetExperimentLayerRequest, context: Ctx
    ) -> admin_pb2.GetExperimentLayerResponse:
        return await self._experiments.get(request)

    @maps_errors
    async def ListExperimentLayers(
        self, request: admin_pb2.ListExperimentLayersRequest, context: Ctx
    ) -> admin_pb2.ListExperimentLayersResponse:
        return await self._experiments.list_page(request)

    @maps_errors
    async def UpdateExperimentLayer(
        self, request: admin_pb2.UpdateExperimentLayerRequest, context: Ctx
    ) -> admin_pb2.UpdateExperimentLayerResponse:
        return await self._experiments.update(request)

    @maps_errors
    async def DeleteExperimentLayer(
        self, request: admin_pb2.DeleteExperimentLayerRequest, context: Ctx
    ) -> admin_pb2.DeleteExperimentLayerResponse:
        return await self._experiments.delete(request)

    # ---- reports ----

    @maps_errors
    async def RunReport(self, request: admin_pb2.RunReportRequest, context: Ctx) -> admin_pb2.RunReportResponse:
        return await self._reports.run(request)

    @maps_errors
    async def GetSpendReport(
        self, request: admin_pb2.GetSpendReportRequest, context: Ctx
    ) -> admin_pb2.GetSpendReportResponse:
        return await self._reports.spend(request)

    @maps_errors
    async def ListDeadLetters(
        self, request: admin_pb2.ListDeadLettersRequest, context: Ctx
    ) -> admin_pb2.ListDeadLettersResponse:
        return await self._reports.dead_letters(request)

    # ---- API tokens ----

    @maps_errors
    async def CreateApiToken(
        self, request: admin_pb2.CreateApiTokenRequest, context: Ctx
    ) -> admin_pb2.CreateApiTokenResponse:
        return await self._tokens.create(request)

    @maps_errors
    async def ListApiTokens(
        self, request: admin_pb2.ListApiTokensRequest, context: Ctx
    ) -> admin_pb2.ListApiTokensResponse:
        return await self._tokens.list_page(request)

    @maps_errors
    async def RevokeApiToken(
        self, request: admin_pb2.RevokeApiTokenRequest, context: Ctx
    ) -> admin_pb2.RevokeApiTokenResponse:
        return await self._tokens.revoke(request)

    # ---- carts, edge signing keys and flags: in the contract, not served yet ----

    @maps_errors
    async def CreateCart(self, request: admin_pb2.CreateCartRequest, context: Ctx) -> admin_pb2.CreateCartResponse:
        raise NotServedYetError("CreateCart")

    @maps_errors
    async def GetCart(self, request: admin_pb2.GetCartRequest, context: Ctx) -> admin_pb2.GetCartResponse:
        raise NotServedYetError("GetCart")

    @maps_errors
    async def ListCarts(self, request: admin_pb2.ListCartsRequest, context: Ctx) -> admin_pb2.ListCartsResponse:
        raise NotServedYetError("ListCarts")

    @maps_errors
    async def UpdateCart(self, request: admin_pb2.UpdateCartRequest, context: Ctx) -> admin_pb2.UpdateCartResponse:
        raise NotServedYetError("UpdateCart")

    @maps_errors
    async def RevokeCart(self, request: admin_pb2.RevokeCartRequest, context: Ctx) -> admin_pb2.RevokeCartResponse:
        raise NotServedYetError("RevokeCart")

    @maps_errors
    async def RevokeEdgeSigningKey(
        self, request: admin_pb2.RevokeEdgeSigningKeyRequest, context: Ctx
    ) -> admin_pb2.RevokeEdgeSigningKeyResponse:
        raise NotServedYetError("RevokeEdgeSigningKey")

    @maps_errors
    async def ClearEdgeFlag(
        self, request: admin_pb2.ClearEdgeFlagRequest, context: Ctx
    ) -> admin_pb2.ClearEdgeFlagResponse:
        raise NotServedYetError("ClearEdgeFlag")
