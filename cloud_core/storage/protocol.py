"""What the services need from storage, as narrow Protocols over plain values.

Each concern's store of SqlCloudStore (storage/cloud_store.py) implements the Protocol(s) of its
concern; a service takes only the Protocols it uses. Imports value types only, never a store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cartads.v1 import admin_pb2, asset_pb2, common_pb2
from cartads.v1.request_counts_pb2 import RequestCounts
from cloud_core.access.api_tokens import TokenStore
from cloud_core.access.audit import AuditFilter
from cloud_core.admin.pagination import PageRequest
from cloud_core.admin.validation import CatalogIds
from cloud_core.compile.carts import EnrolledCart
from cloud_core.console.model import CampaignHours, CampaignTotals, EdgeRow
from cloud_core.delivery.pacing import ControllerState
from cloud_core.delivery.pacing_stats import PacingStatesSave, PacingStats, PacingStatsQuery
from cloud_core.events.charges import ChargeRecords, SigningKeyRecord
from cloud_core.events.ivt_check import HistoryNeeds, IvtContext
from cloud_core.events.outcomes import DeadLetter, EventOutcome, IngestResult
from cloud_core.reports.invalid import InvalidQuery
from cloud_core.reports.metrics import Delivery, TripSums
from cloud_core.reports.rollups import ReportFilter, ReportQuery


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
class CredentialRecord:
    """A credential issued to a cart, revoked or not: what an event's credential is judged by."""

    credential_id: str
    store_id: str
    cart_id: str
    create_time_us: int
    # 0 while the credential is valid.
    revoke_time_us: int
    # The cart's traffic class now.
    traffic_class: common_pb2.CartTrafficClass

    def valid_at(self, time_us: int) -> bool:
        """Whether the credential was issued and not yet revoked at ``time_us``."""
        return self.create_time_us <= time_us and (self.revoke_time_us == 0 or time_us < self.revoke_time_us)


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
    async def update_creative(self, creative: admin_pb2.CreativeSpec, *, review: bool = False) -> None: ...
    async def review_creative(
        self, creative_id: str, status: admin_pb2.CreativeReviewStatus, reason: str, time_us: int, by: str
    ) -> admin_pb2.CreativeSpec: ...
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
    """Uploads recorded and billed exactly once, spend and dead letters (storage/ledger.py)."""

    async def record_events(self, store_id: str, edge_id: str, outcomes: Sequence[EventOutcome]) -> IngestResult: ...
    async def spend_report(self, store_id: str, advertiser_id: str) -> list[admin_pb2.CampaignSpend]: ...
    async def dead_letters(
        self, store_id: str, after_id: int = 0, limit: int = 0, *, edge_id: str = "", reason_code: int = 0
    ) -> list[DeadLetter]: ...
    async def ivt_context(self, store_id: str, needs: HistoryNeeds) -> IvtContext: ...
    async def cart_event_counts(
        self, store_id: str, cart_ids: Sequence[str], start_us: int | None = None, end_us: int | None = None
    ) -> list[admin_pb2.CartEventCount]: ...


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


@dataclass(frozen=True)
class Registration:
    """What registering a signing key found: the key as recorded (the first registration's when it
    existed), and whether it belongs to another store or edge, or to this one under other bytes."""

    record: SigningKeyRecord
    conflict: bool


class SigningKeyStore(Protocol):
    """Edge tracking token keys and the flags of edges that uploaded refused charges (storage/trust/keys.py)."""

    async def register_key(  # noqa: PLR0917 - one positional per column of the key's row
        self, store_id: str, edge_id: str, key_id: str, key: bytes, registered_by: str, now_us: int
    ) -> Registration: ...
    async def signing_keys(self, key_ids: Sequence[str]) -> dict[str, SigningKeyRecord]: ...
    async def edge_keys(self, store_id: str = "") -> list[SigningKeyRecord]: ...
    async def revoke_key(self, key_id: str, now_us: int) -> SigningKeyRecord | None: ...
    async def flag_edge(self, store_id: str, edge_id: str, reason: str, count: int, now_us: int) -> None: ...
    async def clear_flag(self, store_id: str, edge_id: str) -> bool: ...


class TermsStore(Protocol):
    """The index versions sent to each store and their terms (storage/trust/terms.py)."""

    async def record_sent(
        self, store_id: str, version: str, encoded_terms: bytes, assets: Sequence[str], now_us: int
    ) -> None: ...
    async def forget_sent_before(self, cutoff_us: int) -> None: ...
    async def referenced_assets(self, store_id: str, sha256s: Sequence[str]) -> set[str]: ...
    async def legacy_since_us(self, now_us: int) -> int: ...
    async def charge_records(self, store_id: str, key_ids: Sequence[str], versions: Sequence[str]) -> ChargeRecords: ...


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


class AuditStore(Protocol):
    """The audit trail: who changed what, appended after each change (storage/tokens.py)."""

    async def record_audit(self, entry: admin_pb2.AuditEntry) -> None: ...
    async def list_audit(self, query: AuditFilter, page: PageRequest) -> list[admin_pb2.AuditEntry]: ...


class ConsoleReads(Protocol):
    """What the operator console reads (storage/console.py); every method is one read snapshot."""

    async def console_edges(self) -> list[EdgeRow]: ...
    async def console_campaigns(self) -> list[CampaignTotals]: ...
    async def console_campaign(self, campaign_id: str) -> CampaignTotals | None: ...
    async def console_hourly_spend(self, campaign_id: str, since_us: int = 0) -> CampaignHours: ...


class ExperimentStore(Protocol):
    """Experiment layers (storage/reports.py)."""

    async def create_experiment_layer(self, layer: admin_pb2.ExperimentLayer) -> None: ...
    async def get_experiment_layer(self, layer_id: str) -> admin_pb2.ExperimentLayer | None: ...
    async def list_experiment_layers(self, page: PageRequest) -> list[admin_pb2.ExperimentLayer]: ...
    async def active_experiment_layers(self) -> list[admin_pb2.ExperimentLayer]: ...
    async def update_experiment_layer(self, layer: admin_pb2.ExperimentLayer) -> None: ...
    async def delete_experiment_layer(self, layer_id: str) -> None: ...


class ReportStore(Protocol):
    """Grouped sums of the hourly report rollups (storage/reports.py)."""

    async def report_delivery(self, queries: Sequence[ReportQuery]) -> list[tuple[tuple[Any, ...], Delivery]]: ...
    async def report_invalid(self, query: InvalidQuery) -> list[tuple[tuple[Any, ...], Delivery]]: ...
    async def report_requests(
        self, where: ReportFilter, columns: Sequence[str]
    ) -> list[tuple[tuple[Any, ...], int]]: ...
    async def report_trip_sums(self, where: ReportFilter) -> list[tuple[str, str, TripSums]]: ...


# Report export states as stored (admin_pb2.ReportExportState values).
PENDING_EXPORT = int(admin_pb2.REPORT_EXPORT_STATE_PENDING)
RUNNING_EXPORT = int(admin_pb2.REPORT_EXPORT_STATE_RUNNING)


@dataclass(frozen=True)
class ReportExportRow:
    """A report export job as stored; ``request`` is the serialized RunReportRequest."""

    export_id: str
    advertiser_id: str
    request: bytes
    state: int
    create_time_us: int
    update_time_us: int
    stores_done: int = 0
    stores_total: int = 0
    row_count: int = 0
    byte_count: int = 0
    error: str = ""


@dataclass(frozen=True)
class ExportProgress:
    """A running export's step: stores read so far, and the CSV chunks they added."""

    stores_done: int
    stores_total: int
    chunks: tuple[tuple[int, bytes], ...]
    now_us: int


@dataclass(frozen=True)
class ExportOutcome:
    """How an export ended (state SUCCEEDED or FAILED)."""

    state: int
    now_us: int
    row_count: int = 0
    byte_count: int = 0
    error: str = ""


class ReportExportStore(Protocol):
    """Report export jobs, their progress and CSV chunks (storage/exports/jobs.py)."""

    async def create_export(self, row: ReportExportRow) -> None: ...
    async def get_export(self, export_id: str) -> ReportExportRow | None: ...
    async def claimable_exports(self, now_us: int, stale_us: int) -> list[str]: ...
    async def claim_export(self, export_id: str, runner: str, now_us: int, stale_us: int) -> bool: ...
    async def save_progress(self, export_id: str, runner: str, progress: ExportProgress) -> bool: ...
    async def finish_export(self, export_id: str, runner: str, outcome: ExportOutcome) -> None: ...
    async def export_chunks(self, export_id: str, after_seq: int, limit: int) -> list[tuple[int, bytes]]: ...


class TrafficHistoryStore(Protocol):
    """A store's uploaded GetAds request counts (storage/pacing_stats.py), for the availability forecast."""

    async def request_counts(self, store_id: str, since_us: int) -> dict[tuple[int, int, int], tuple[int, int]]: ...


class PacingStatsStore(Protocol):
    """Edges' request counts, pacing inputs and controller state (storage/pacing_stats.py)."""

    async def record_request_counts(
        self, store_id: str, edge_id: str, records: Sequence[tuple[str, RequestCounts]]
    ) -> int: ...
    async def load_pacing_stats(self, query: PacingStatsQuery) -> PacingStats: ...
    async def save_pacing_states(
        self, store_id: str, stepped: Mapping[str, ControllerState], previous: Mapping[str, ControllerState]
    ) -> int: ...
    # Pacing states of many stores in one transaction (IndexBuilder.build_many).
    async def save_pacing_states_many(self, saves: Sequence[PacingStatesSave]) -> int: ...


class CartStore(Protocol):
    """Carts enrolled to stores and every credential issued to them (storage/carts.py). Each write
    counts an index change of the cart's store in its own transaction, so every replica pushes the
    store's next index (the cart added or gone) to its edges."""

    async def create_cart(
        self, cart: admin_pb2.Cart, credential_id: str, secret_sha256: bytes, now_us: int
    ) -> admin_pb2.Cart: ...
    async def get_cart(self, store_id: str, cart_id: str) -> admin_pb2.Cart | None: ...
    async def list_carts(self, store_id: str, page: PageRequest, show_revoked: bool) -> list[admin_pb2.Cart]: ...
    async def update_cart(self, cart: admin_pb2.Cart, paths: Sequence[str]) -> admin_pb2.Cart | None: ...
    async def revoke_cart(self, store_id: str, cart_id: str, now_us: int) -> admin_pb2.Cart | None: ...
    # The enrolled (unrevoked) carts of each store, for the index compiler.
    async def enrolled_carts(self, store_ids: Sequence[str]) -> dict[str, tuple[EnrolledCart, ...]]: ...
    # The store's credentials among ``credential_ids``, revoked ones included, for ingest.
    async def credentials(self, store_id: str, credential_ids: Sequence[str]) -> dict[str, CredentialRecord]: ...


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
    CartStore,
    Protocol,
):
    """All of the cloud's storage, for AdminService until it takes the narrow Protocols it uses."""


@dataclass(frozen=True)
class IndexHead:
    """A store's newest stored index version, the change counter its compile saw, and when it ran."""

    version: str
    generation: int
    compiled_us: int


@dataclass(frozen=True)
class StoredIndex:
    """One compiled version to store: its deterministic serialized bytes."""

    store_id: str
    version: str
    generation: int
    compiled_us: int
    data: bytes


class IndexVersionStore(Protocol):
    """Compiled index versions shared by the replicas, and the leases that divide compiles among them."""

    async def generations_and_heads(self, store_ids: Sequence[str]) -> tuple[dict[str, int], dict[str, IndexHead]]: ...
    async def load(self, store_id: str, version: str) -> bytes | None: ...
    async def try_leases(self, store_ids: Sequence[str], holder: str, now_us: int, lease_us: int) -> set[str]: ...
    async def release_leases(self, store_ids: Sequence[str], holder: str) -> None: ...
    async def save(self, stored: Sequence[StoredIndex], holder: str, keep_versions: int) -> None: ...


class ReplicaStore(Protocol):
    """Replica heartbeats and the edge rows of replicas that stopped."""

    async def beat(self, replica_id: str, started_us: int, now_us: int) -> int: ...
    async def disconnect_silent(self, now_us: int, timeout_us: int) -> int: ...
    async def reconnect(self, replica_id: str, edges: Sequence[tuple[str, str]]) -> None: ...
    async def forget(self, replica_id: str) -> None: ...
