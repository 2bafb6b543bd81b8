"""AdminService over gRPC: every method hands its request to the part that owns the resource.

The parts (one class per resource, in the module of that name; advertisers sit with campaigns, assets
with creatives, catalogs with stores) hold the logic and take only the storage Protocols they need;
this servicer only wires them and maps their errors to gRPC statuses. Its methods are a table, one
line per RPC naming the request type and the part's method that serves it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

from cartads.rpc.errors import Ctx, maps_errors
from cartads.v1 import admin_pb2, admin_pb2_grpc
from cloud_core.admin.campaigns import AdvertiserAdmin, CampaignAdmin
from cloud_core.admin.carts import CartAdmin
from cloud_core.admin.creatives import AssetAdmin, CreativeAdmin
from cloud_core.admin.delivery.status import DeliveryAdmin, DeliveryPreview, DeliveryReads
from cloud_core.admin.edges import EdgeAdmin
from cloud_core.admin.experiments import ExperimentAdmin
from cloud_core.admin.line_items import LineItemAdmin
from cloud_core.admin.reports import ReportAdmin
from cloud_core.admin.request_checks import NotServedYetError
from cloud_core.admin.stores import CatalogAdmin, StoreAdmin
from cloud_core.admin.tokens import TokenAdmin
from cloud_core.delivery.leases import LeaseSettings
from cloud_core.storage.protocol import (
    AccessStore,
    AdvertiserStore,
    AssetStore,
    CampaignStore,
    CartStore,
    CatalogStore,
    EdgeStatusStore,
    ExperimentStore,
    LedgerStore,
    ReportStore,
    SigningKeyStore,
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
    # Carts enrolled to stores, and their credentials.
    carts: CartStore
    # Edges' tracking token keys and flags.
    signing_keys: SigningKeyStore
    # Delivery status: the index a compile would make now, and the edges' request counts; without
    # them GetDeliveryStatus is not served (UNIMPLEMENTED).
    delivery_preview: DeliveryPreview | None = None
    delivery_reads: DeliveryReads | None = None
    lease: LeaseSettings = field(default_factory=LeaseSettings)


Req = TypeVar("Req")
Resp = TypeVar("Resp")


# The table's entries are typed Any: mypy cannot check a class attribute against the generated base
# class's method. What it does check is the ``request_type`` the entry names against the parameter
# of the part's method, so a part is never handed another method's request.
def _served_by(request_type: type[Req], part: Callable[[AdminServicer], Callable[[Req], Awaitable[Resp]]]) -> Any:
    """The RPC method handing its ``request_type`` request to the part method ``part`` picks."""

    async def method(self: AdminServicer, request: Req, context: Ctx) -> Resp:
        return await part(self)(request)

    return maps_errors(method)


def _stream_served_by(
    request_type: type[Req], part: Callable[[AdminServicer], Callable[[AsyncIterator[Req]], Awaitable[Resp]]]
) -> Any:
    """``_served_by`` for a client-streaming RPC: the part reads the stream of ``request_type``."""

    async def method(self: AdminServicer, requests: AsyncIterator[Req], context: Ctx) -> Resp:
        return await part(self)(requests)

    return maps_errors(method)


def _not_served(name: str) -> Any:
    """The RPC method of the contract this cloud does not serve yet: UNIMPLEMENTED, by name."""

    async def method(self: AdminServicer, request: object, context: Ctx) -> NoReturn:
        raise NotServedYetError(name)

    return maps_errors(method)


def _no_cache(token_ids: Sequence[str]) -> None:
    del token_ids


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    """Advertisers, campaigns, line items, creatives, stores, catalogs, edges, experiments, reports,
    tokens, carts."""

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
        self._edges = EdgeAdmin(storage.edges, storage.signing_keys, notifier)
        self._experiments = ExperimentAdmin(storage.experiments, notifier, clock)
        self._reports = ReportAdmin(
            storage.reports, storage.experiments, storage.ledger, storage.advertisers, storage.catalog
        )
        self._tokens = TokenAdmin(storage.access, storage.advertisers, storage.catalog, clock, on_revoke)
        self._carts = CartAdmin(storage.carts, storage.catalog, notifier, clock)
        self._delivery = (
            DeliveryAdmin(storage.campaigns, storage.delivery_preview, storage.delivery_reads, storage.lease, clock)
            if storage.delivery_preview is not None and storage.delivery_reads is not None
            else None
        )

    async def _delivery_status(
        self, request: admin_pb2.GetDeliveryStatusRequest
    ) -> admin_pb2.GetDeliveryStatusResponse:
        if self._delivery is None:
            raise NotServedYetError("GetDeliveryStatus")
        return await self._delivery.status(request)

    # ---- advertisers ----
    CreateAdvertiser = _served_by(admin_pb2.CreateAdvertiserRequest, lambda s: s._advertisers.create)
    GetAdvertiser = _served_by(admin_pb2.GetAdvertiserRequest, lambda s: s._advertisers.get)
    ListAdvertisers = _served_by(admin_pb2.ListAdvertisersRequest, lambda s: s._advertisers.list_page)
    UpdateAdvertiser = _served_by(admin_pb2.UpdateAdvertiserRequest, lambda s: s._advertisers.update)
    DeleteAdvertiser = _served_by(admin_pb2.DeleteAdvertiserRequest, lambda s: s._advertisers.delete)

    # ---- campaigns ----
    CreateCampaign = _served_by(admin_pb2.CreateCampaignRequest, lambda s: s._campaigns.create)
    GetCampaign = _served_by(admin_pb2.GetCampaignRequest, lambda s: s._campaigns.get)
    ListCampaigns = _served_by(admin_pb2.ListCampaignsRequest, lambda s: s._campaigns.list_page)
    UpdateCampaign = _served_by(admin_pb2.UpdateCampaignRequest, lambda s: s._campaigns.update)
    DeleteCampaign = _served_by(admin_pb2.DeleteCampaignRequest, lambda s: s._campaigns.delete)
    PauseCampaign = _served_by(admin_pb2.PauseCampaignRequest, lambda s: s._campaigns.pause)
    ResumeCampaign = _served_by(admin_pb2.ResumeCampaignRequest, lambda s: s._campaigns.resume)

    # ---- line items ----
    CreateLineItem = _served_by(admin_pb2.CreateLineItemRequest, lambda s: s._line_items.create)
    GetLineItem = _served_by(admin_pb2.GetLineItemRequest, lambda s: s._line_items.get)
    ListLineItems = _served_by(admin_pb2.ListLineItemsRequest, lambda s: s._line_items.list_page)
    UpdateLineItem = _served_by(admin_pb2.UpdateLineItemRequest, lambda s: s._line_items.update)
    DeleteLineItem = _served_by(admin_pb2.DeleteLineItemRequest, lambda s: s._line_items.delete)
    PauseLineItem = _served_by(admin_pb2.PauseLineItemRequest, lambda s: s._line_items.pause)
    ResumeLineItem = _served_by(admin_pb2.ResumeLineItemRequest, lambda s: s._line_items.resume)

    # ---- creatives and their images ----
    CreateCreative = _served_by(admin_pb2.CreateCreativeRequest, lambda s: s._creatives.create)
    GetCreative = _served_by(admin_pb2.GetCreativeRequest, lambda s: s._creatives.get)
    ListCreatives = _served_by(admin_pb2.ListCreativesRequest, lambda s: s._creatives.list_page)
    UpdateCreative = _served_by(admin_pb2.UpdateCreativeRequest, lambda s: s._creatives.update)
    DeleteCreative = _served_by(admin_pb2.DeleteCreativeRequest, lambda s: s._creatives.delete)
    UploadAsset = _stream_served_by(admin_pb2.UploadAssetRequest, lambda s: s._assets.upload)

    # ---- stores and their catalogs ----
    CreateStore = _served_by(admin_pb2.CreateStoreRequest, lambda s: s._stores.create)
    GetStore = _served_by(admin_pb2.GetStoreRequest, lambda s: s._stores.get)
    ListStores = _served_by(admin_pb2.ListStoresRequest, lambda s: s._stores.list_page)
    UpdateStore = _served_by(admin_pb2.UpdateStoreRequest, lambda s: s._stores.update)
    DeleteStore = _served_by(admin_pb2.DeleteStoreRequest, lambda s: s._stores.delete)
    ImportCatalog = _stream_served_by(admin_pb2.ImportCatalogRequest, lambda s: s._catalog.import_catalog)
    ListProducts = _served_by(admin_pb2.ListProductsRequest, lambda s: s._catalog.list_products)
    ListAisles = _served_by(admin_pb2.ListAislesRequest, lambda s: s._catalog.list_aisles)

    # ---- edges ----
    ListEdges = _served_by(admin_pb2.ListEdgesRequest, lambda s: s._edges.list_page)

    # ---- experiment layers ----
    CreateExperimentLayer = _served_by(admin_pb2.CreateExperimentLayerRequest, lambda s: s._experiments.create)
    GetExperimentLayer = _served_by(admin_pb2.GetExperimentLayerRequest, lambda s: s._experiments.get)
    ListExperimentLayers = _served_by(admin_pb2.ListExperimentLayersRequest, lambda s: s._experiments.list_page)
    UpdateExperimentLayer = _served_by(admin_pb2.UpdateExperimentLayerRequest, lambda s: s._experiments.update)
    DeleteExperimentLayer = _served_by(admin_pb2.DeleteExperimentLayerRequest, lambda s: s._experiments.delete)

    # ---- reports ----
    RunReport = _served_by(admin_pb2.RunReportRequest, lambda s: s._reports.run)
    GetSpendReport = _served_by(admin_pb2.GetSpendReportRequest, lambda s: s._reports.spend)
    ListDeadLetters = _served_by(admin_pb2.ListDeadLettersRequest, lambda s: s._reports.dead_letters)
    CountCartEvents = _served_by(admin_pb2.CountCartEventsRequest, lambda s: s._reports.cart_events)
    GetDeliveryStatus = _served_by(admin_pb2.GetDeliveryStatusRequest, lambda s: s._delivery_status)

    # ---- API tokens ----
    CreateApiToken = _served_by(admin_pb2.CreateApiTokenRequest, lambda s: s._tokens.create)
    ListApiTokens = _served_by(admin_pb2.ListApiTokensRequest, lambda s: s._tokens.list_page)
    RevokeApiToken = _served_by(admin_pb2.RevokeApiTokenRequest, lambda s: s._tokens.revoke)

    # ---- carts ----
    CreateCart = _served_by(admin_pb2.CreateCartRequest, lambda s: s._carts.create)
    GetCart = _served_by(admin_pb2.GetCartRequest, lambda s: s._carts.get)
    ListCarts = _served_by(admin_pb2.ListCartsRequest, lambda s: s._carts.list_page)
    UpdateCart = _served_by(admin_pb2.UpdateCartRequest, lambda s: s._carts.update)
    RevokeCart = _served_by(admin_pb2.RevokeCartRequest, lambda s: s._carts.revoke)

    # ---- edge signing keys and flags ----
    RevokeEdgeSigningKey = _served_by(admin_pb2.RevokeEdgeSigningKeyRequest, lambda s: s._edges.revoke_key)
    ClearEdgeFlag = _served_by(admin_pb2.ClearEdgeFlagRequest, lambda s: s._edges.clear_flag)
