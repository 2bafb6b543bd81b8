"""AdminService over gRPC: every method hands its request to the part that owns the resource.

The parts (one class per resource, in the module of that name; advertisers sit with campaigns, assets
with creatives, catalogs with stores) hold the logic and take only the storage Protocols they need;
this servicer only wires them and maps their errors to gRPC statuses. Its methods are a table, one
line per RPC naming the request type and the part's method that serves it.

Every change method (``access.audit.AUDITED``) is recorded in the audit trail: the servicer reads the
resource before the part changes it and hands it, the request and the answer to ``AuditRecorder``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

from google.protobuf.message import Message

from cartads.rpc.errors import CartAdsError, Ctx, abort_with, maps_errors
from cartads.v1 import admin_pb2, admin_pb2_grpc
from cloud_core.access.audit import AUDITED, field_at
from cloud_core.admin.campaigns import AdvertiserAdmin, CampaignAdmin
from cloud_core.admin.carts import CartAdmin
from cloud_core.admin.creatives import AssetAdmin, CreativeAdmin
from cloud_core.admin.delivery.status import DeliveryAdmin, DeliveryPreview, DeliveryReads
from cloud_core.admin.edges import EdgeAdmin
from cloud_core.admin.experiments import ExperimentAdmin
from cloud_core.admin.exports.forecast import ForecastAdmin
from cloud_core.admin.exports.jobs import ExportAdmin, ExportRunner
from cloud_core.admin.line_items import LineItemAdmin
from cloud_core.admin.reports import ReportAdmin
from cloud_core.admin.request_checks import NotServedYetError
from cloud_core.admin.stores import CatalogAdmin, StoreAdmin
from cloud_core.admin.tokens import AuditAdmin, AuditRecorder, BeforeReader, TokenAdmin
from cloud_core.delivery.leases import LeaseSettings
from cloud_core.storage.protocol import (
    AccessStore,
    AdvertiserStore,
    AssetStore,
    AuditStore,
    CampaignStore,
    CartStore,
    CatalogStore,
    EdgeStatusStore,
    ExperimentStore,
    LedgerStore,
    ReportExportStore,
    ReportStore,
    SigningKeyStore,
    TrafficHistoryStore,
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
    # Report export jobs and their CSV (run by the ExportRunner the servicer is given).
    exports: ReportExportStore
    # Edges' uploaded request counts, for the availability forecast.
    traffic: TrafficHistoryStore
    # Who changed what.
    audit: AuditStore
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

    name = request_type.__name__.removesuffix("Request")

    async def method(self: AdminServicer, request: Req, context: Ctx) -> Resp:
        if name not in AUDITED or AUDITED[name].in_change_transaction:
            return await part(self)(request)
        before = await self._read_before(name, request)
        response = await part(self)(request)
        await self._recorder.record(name, request, before, response)  # type: ignore[arg-type]
        return response

    return maps_errors(method)


def _stream_served_by(
    request_type: type[Req], part: Callable[[AdminServicer], Callable[[AsyncIterator[Req]], Awaitable[Resp]]]
) -> Any:
    """``_served_by`` for a client-streaming RPC: the part reads the stream of ``request_type``."""

    name = request_type.__name__.removesuffix("Request")

    async def remembering(requests: AsyncIterator[Req], first: list[Req]) -> AsyncIterator[Req]:
        # The first message names the resource (an import's store); the part reads the stream as sent.
        async for request in requests:
            if not first:
                first.append(request)
            yield request

    async def method(self: AdminServicer, requests: AsyncIterator[Req], context: Ctx) -> Resp:
        first: list[Req] = []
        response = await part(self)(remembering(requests, first))
        await self._recorder.record(name, first[0] if first else None, None, response)  # type: ignore[arg-type]
        return response

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
        export_runner: ExportRunner,
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
        self._exports = ExportAdmin(storage.exports, export_runner, storage.experiments, storage.catalog)
        self._forecast = ForecastAdmin(storage.catalog, storage.traffic, storage.reports)
        self._tokens = TokenAdmin(storage.access, storage.advertisers, storage.catalog, clock, on_revoke)
        self._carts = CartAdmin(storage.carts, storage.catalog, notifier, clock)
        self._audit = AuditAdmin(storage.audit)
        self._recorder = AuditRecorder(storage.audit, storage.access, clock)
        self._before_readers = _before_readers(storage)
        self._cart_store = storage.carts
        self._delivery = (
            DeliveryAdmin(storage.campaigns, storage.delivery_preview, storage.delivery_reads, storage.lease, clock)
            if storage.delivery_preview is not None and storage.delivery_reads is not None
            else None
        )

    async def _read_before(self, method: str, request: object) -> Message | None:
        """The resource a change method names, as it is before the change (None: new, or unknown)."""
        rule = AUDITED[method]
        if not isinstance(request, Message):
            return None
        resource_id = field_at(request, rule.request_id)
        if not resource_id:
            return None
        if rule.resource_type == "cart":
            # A cart is named by its store and its id: UpdateCart's cart.store_id, RevokeCart's store_id.
            store_id = field_at(request, rule.request_id.replace("cart_id", "store_id"))
            return await self._cart_store.get_cart(store_id, resource_id)
        read = self._before_readers.get(rule.resource_type)
        return None if read is None else await read(resource_id)

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
    ApproveCreative = _served_by(admin_pb2.ApproveCreativeRequest, lambda s: s._creatives.approve)
    RejectCreative = _served_by(admin_pb2.RejectCreativeRequest, lambda s: s._creatives.reject)
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
    CreateReportExport = _served_by(admin_pb2.CreateReportExportRequest, lambda s: s._exports.create)
    GetReportExport = _served_by(admin_pb2.GetReportExportRequest, lambda s: s._exports.get)
    ForecastAvailability = _served_by(admin_pb2.ForecastAvailabilityRequest, lambda s: s._forecast.forecast)

    async def DownloadReportExport(  # noqa: N802 - the contract's method name
        self, request: admin_pb2.DownloadReportExportRequest, context: Ctx
    ) -> AsyncIterator[admin_pb2.DownloadReportExportResponse]:
        """The export's CSV chunks in order (server-streaming, so outside the unary table)."""
        try:
            async for chunk in self._exports.download(request):
                yield chunk
        except CartAdsError as error:
            await abort_with(context, error)

    GetDeliveryStatus = _served_by(admin_pb2.GetDeliveryStatusRequest, lambda s: s._delivery_status)

    # ---- API tokens ----
    CreateApiToken = _served_by(admin_pb2.CreateApiTokenRequest, lambda s: s._tokens.create)
    ListApiTokens = _served_by(admin_pb2.ListApiTokensRequest, lambda s: s._tokens.list_page)
    RevokeApiToken = _served_by(admin_pb2.RevokeApiTokenRequest, lambda s: s._tokens.revoke)

    # ---- the audit trail ----
    ListAuditEntries = _served_by(admin_pb2.ListAuditEntriesRequest, lambda s: s._audit.list_page)

    # ---- carts ----
    CreateCart = _served_by(admin_pb2.CreateCartRequest, lambda s: s._carts.create)
    GetCart = _served_by(admin_pb2.GetCartRequest, lambda s: s._carts.get)
    ListCarts = _served_by(admin_pb2.ListCartsRequest, lambda s: s._carts.list_page)
    UpdateCart = _served_by(admin_pb2.UpdateCartRequest, lambda s: s._carts.update)
    RevokeCart = _served_by(admin_pb2.RevokeCartRequest, lambda s: s._carts.revoke)

    # ---- edge signing keys and flags ----
    RevokeEdgeSigningKey = _served_by(admin_pb2.RevokeEdgeSigningKeyRequest, lambda s: s._edges.revoke_key)
    ClearEdgeFlag = _served_by(admin_pb2.ClearEdgeFlagRequest, lambda s: s._edges.clear_flag)


def _before_readers(storage: AdminStorage) -> dict[str, BeforeReader]:
    """Per resource type, how to read the resource named by a change request's id (see AUDITED)."""

    async def token(token_id: str) -> Message | None:
        record = await storage.access.get_api_token(token_id)
        return None if record is None else record.to_proto()

    return {
        "advertiser": storage.advertisers.get_advertiser,
        "campaign": storage.campaigns.get_campaign,
        "line_item": storage.campaigns.get_line_item,
        "creative": storage.campaigns.get_creative,
        "store": storage.catalog.get_store,
        "experiment_layer": storage.experiments.get_experiment_layer,
        "api_token": token,
    }
