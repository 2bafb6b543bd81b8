"""What the services need from storage, as Protocols; SqlCloudStore (storage/cloud_store.py) implements all of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cartads.v1 import admin_pb2, asset_pb2
from cloud_core.access.api_tokens import TokenStore
from cloud_core.admin.pagination import PageRequest
from cloud_core.admin.validation import CatalogIds
from cloud_core.console.model import CampaignHours, CampaignTotals, EdgeRow

if TYPE_CHECKING:
    from cartads.v1.request_counts_pb2 import RequestCounts
    from cloud_core.delivery.pacing import ControllerState
    from cloud_core.reports.metrics import Delivery, TripSums
    from cloud_core.storage.pacing_stats import PacingStatesSave, PacingStats, PacingStatsQuery
    from cloud_core.storage.reports import ReportFilter, ReportQuery


@dataclass(frozen=True)
class StoreView:
    """Everything the index compiler reads about one store, loaded in one read transaction."""

    store: admin_pb2.Store
    signing_key: bytes
    aisles: tuple[admin_pb2.Aisle, ...]
    departments: tuple[admin_pb2.Department, ...]
    products: tuple[admin_pb2.Product, ...]
    campaigns: tuple[admin_pb2.Campaign, ...]
    line_items: tuple[admin_pb2.LineItem, ...]
    creatives: tuple[admin_pb2.CreativeSpec, ...]
    # campaign id -> spend so far over all stores
    campaign_spend_micros: dict[str, int]


@dataclass(frozen=True)
class EventOutcome:
    """One uploaded event after its token was checked: what to record and whether to bill it."""

    seq: int
    event_id: str
    event_type: int
    cart_id: str
    session_id: str
    event_blob: bytes
    occur_time_us: int = 0
    receive_time_us: int = 0
    # Set for ad events whose token verified.
    ad_id: str = ""
    advertiser_id: str = ""
    campaign_id: str = ""
    line_item_id: str = ""
    pricing_model: int = 0
    billable: bool = False
    charge_micros: int = 0
    # Non-empty when the event goes to the dead-letter table instead.
    reject_reason: str = ""
    # For conversions: the product added to the basket (one charge per decision and product).
    product_id: str = ""
    # Reports (issue 8): the decision's creative; the trip's (layer_id, arm_id) per experiment layer
    # (from the verified token for ad events, from the edge's stamp otherwise); a conversion's value
    # (shelf price × quantity); a basket add's value when the product is advertised, else 0.
    creative_id: str = ""
    experiment_arms: tuple[tuple[str, str], ...] = ()
    sales_micros: int = 0
    advertised_sales_micros: int = 0
    # Pacing and predictions (issue 8): the trigger of the request the ad was chosen for (0: unknown).
    trigger: int = 0


@dataclass(frozen=True)
class IngestResult:
    """Counts of one upload, and the campaigns whose budget this upload used up."""

    billed_count: int = 0
    duplicate_count: int = 0
    recorded_count: int = 0
    rejected_count: int = 0
    exhausted_campaign_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DeadLetter:
    """An event refused for billing, with why."""

    store_id: str
    edge_id: str
    seq: int
    event_id: str
    reason: str
    # Position in the table (for paging), the event's kind and when it was refused.
    dead_letter_id: int = 0
    event_type: int = 0
    create_time_us: int = 0


class AdvertiserStore(Protocol):
    async def create_advertiser(self, advertiser: admin_pb2.Advertiser) -> None: ...
    async def get_advertiser(self, advertiser_id: str) -> admin_pb2.Advertiser | None: ...
    async def list_advertisers(self, page: PageRequest) -> list[admin_pb2.Advertiser]: ...
    async def update_advertiser(self, advertiser: admin_pb2.Advertiser) -> None: ...
    async def delete_advertiser(self, advertiser_id: str) -> None: ...


class CampaignStore(Protocol):
    async def create_campaign(self, campaign: admin_pb2.Campaign) -> None: ...
    async def get_campaign(self, campaign_id: str) -> admin_pb2.Campaign | None: ...
    async def list_campaigns(self, page: PageRequest, advertiser_id: str) -> list[admin_pb2.Campaign]: ...
    async def update_campaign(self, campaign: admin_pb2.Campaign) -> None: ...
    async def delete_campaign(self, campaign_id: str) -> None: ...

    async def create_line_item(self, line_item: admin_pb2.LineItem) -> None: ...
    async def get_line_item(self, line_item_id: str) -> admin_pb2.LineItem | None: ...
    async def list_line_items(self, page: PageRequest, campaign_id: str) -> list[admin_pb2.LineItem]: ...
    async def update_line_item(self, line_item: admin_pb2.LineItem) -> None: ...
    async def delete_line_item(self, line_item_id: str) -> None: ...

    async def create_creative(self, creative: admin_pb2.CreativeSpec) -> None: ...
    async def get_creative(self, creative_id: str) -> admin_pb2.CreativeSpec | None: ...
    async def list_creatives(self, page: PageRequest, advertiser_id: str) -> list[admin_pb2.CreativeSpec]: ...
    async def update_creative(self, creative: admin_pb2.CreativeSpec) -> None: ...
    async def delete_creative(self, creative_id: str) -> None: ...
    async def creative_advertisers(self, creative_ids: Sequence[str]) -> dict[str, str]: ...


class CatalogStore(Protocol):
    async def create_store(self, store: admin_pb2.Store, signing_key: bytes) -> None: ...
    async def get_store(self, store_id: str) -> admin_pb2.Store | None: ...
    async def list_stores(self, page: PageRequest) -> list[admin_pb2.Store]: ...
    async def update_store(self, store: admin_pb2.Store) -> None: ...
    async def delete_store(self, store_id: str) -> None: ...
    async def store_ids(self) -> frozenset[str]: ...
    async def signing_key(self, store_id: str) -> bytes | None: ...

    async def import_catalog(
        self,
        store_id: str,
        aisles: Sequence[admin_pb2.Aisle],
        departments: Sequence[admin_pb2.Department],
        products: Sequence[admin_pb2.Product],
    ) -> None: ...
    async def catalog_parent_ids(self, store_id: str) -> tuple[frozenset[str], frozenset[str]]: ...
    async def catalog_ids(self, store_ids: Sequence[str]) -> CatalogIds: ...
    async def list_products(self, store_id: str, page: PageRequest) -> list[admin_pb2.Product]: ...
    async def list_aisles(self, store_id: str, page: PageRequest) -> list[admin_pb2.Aisle]: ...
    async def load_store_view(self, store_id: str) -> StoreView | None: ...
    async def load_store_views(self, store_ids: Sequence[str]) -> dict[str, StoreView]: ...


class LedgerStore(Protocol):
    async def record_events(self, store_id: str, edge_id: str, outcomes: Sequence[EventOutcome]) -> IngestResult: ...
    async def spend_report(self, store_id: str, advertiser_id: str) -> list[admin_pb2.CampaignSpend]: ...
    async def dead_letters(self, store_id: str, after_id: int = 0, limit: int = 0) -> list[DeadLetter]: ...
    async def store_traffic(self, since_us: int) -> dict[str, int]: ...


class EdgeStatusStore(Protocol):
    """What each edge's index stream last reported; listed by AdminService.ListEdges."""

    async def edge_connected(self, store_id: str, edge_id: str, version: str, now_us: int) -> None: ...
    async def edge_disconnected(self, store_id: str, edge_id: str, now_us: int) -> None: ...
    async def disconnect_all_edges(self) -> None: ...
    async def edge_update_sent(self, store_id: str, edge_id: str, version: str, nonce: str, now_us: int) -> None: ...
    async def edge_answered(
        self, store_id: str, edge_id: str, *, version: str, nonce: str, error: str, refused_version: str, now_us: int
    ) -> None: ...
    async def list_edges(self, store_id: str, page: PageRequest) -> list[admin_pb2.EdgeStatus]: ...


class AssetStore(Protocol):
    """Uploaded images by content hash (cloud_core/storage/assets.py)."""

    async def put_asset(self, asset: asset_pb2.Asset, sanitized: bool, create_time_us: int) -> bool: ...
    async def get_assets(self, sha256s: Sequence[str]) -> list[asset_pb2.Asset]: ...
    async def asset_infos(self, sha256s: Sequence[str]) -> dict[str, asset_pb2.AssetInfo]: ...
    async def known_product_ids(self, product_ids: Sequence[str]) -> frozenset[str]: ...
    async def card_products(self, store_id: str) -> list[tuple[str, int]]: ...


class AccessStore(TokenStore, Protocol):
    """Bearer tokens, and the line item listing an advertiser token is narrowed to (storage/tokens.py)."""

    async def advertiser_line_item_ids(self, advertiser_id: str, campaign_id: str, page: PageRequest) -> list[str]: ...
    async def add_asset_uploader(self, sha256: str, advertiser_id: str) -> None: ...
    async def uploaded_by(self, sha256: str, advertiser_id: str) -> bool: ...


class ConsoleReads(Protocol):
    """What the operator console reads (storage/console.py); every method is one read snapshot."""

    async def console_edges(self) -> list[EdgeRow]: ...
    async def console_campaigns(self) -> list[CampaignTotals]: ...
    async def console_campaign(self, campaign_id: str) -> CampaignTotals | None: ...
    async def console_hourly_spend(self, campaign_id: str, since_us: int = 0) -> CampaignHours: ...


class ExperimentStore(Protocol):
    """Experiment layers (storage/experiments.py)."""

    async def create_experiment_layer(self, layer: admin_pb2.ExperimentLayer) -> None: ...
    async def get_experiment_layer(self, layer_id: str) -> admin_pb2.ExperimentLayer | None: ...
    async def list_experiment_layers(self, page: PageRequest) -> list[admin_pb2.ExperimentLayer]: ...
    async def active_experiment_layers(self) -> list[admin_pb2.ExperimentLayer]: ...
    async def update_experiment_layer(self, layer: admin_pb2.ExperimentLayer) -> None: ...
    async def delete_experiment_layer(self, layer_id: str) -> None: ...


class ReportStore(Protocol):
    """Grouped sums of the hourly report rollups (storage/reports.py)."""

    async def report_delivery(self, queries: Sequence[ReportQuery]) -> list[tuple[tuple[Any, ...], Delivery]]: ...
    async def report_requests(
        self, where: ReportFilter, columns: Sequence[str]
    ) -> list[tuple[tuple[Any, ...], int]]: ...
    async def report_trip_sums(self, where: ReportFilter) -> list[tuple[str, str, TripSums]]: ...


class PacingStatsStore(Protocol):
    """Edges' request counts, pacing inputs and controller state (storage/pacing_stats.py)."""

    async def record_request_counts(
        self, store_id: str, edge_id: str, records: Sequence[tuple[str, RequestCounts]]
    ) -> int: ...
    async def load_pacing_stats(self, query: PacingStatsQuery) -> PacingStats: ...
    async def save_pacing_states(
        self, store_id: str, stepped: Mapping[str, ControllerState], previous: Mapping[str, ControllerState]
    ) -> int: ...


class CloudStore(
    AdvertiserStore,
    CampaignStore,
    CatalogStore,
    LedgerStore,
    EdgeStatusStore,
    AssetStore,
    AccessStore,
    ExperimentStore,
    ReportStore,
    ConsoleReads,
    PacingStatsStore,
    Protocol,
):
    """All of the cloud's storage."""

    async def close(self) -> None: ...
    # Pacing states of many stores in one transaction (IndexBuilder.build_many).
    async def save_pacing_states_many(self, saves: Sequence[PacingStatesSave]) -> int: ...
