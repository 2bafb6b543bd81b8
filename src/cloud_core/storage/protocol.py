"""What the services need from storage, as Protocols; the SQLite store implements all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cartads.v1 import admin_pb2, asset_pb2
from cloud_core.pagination import PageRequest
from cloud_core.validation import CatalogIds


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
    """Uploaded images by content hash (cloud_core/storage/sqlite_assets.py)."""

    async def put_asset(self, asset: asset_pb2.Asset, sanitized: bool, create_time_us: int) -> bool: ...
    async def get_assets(self, sha256s: Sequence[str]) -> list[asset_pb2.Asset]: ...
    async def asset_infos(self, sha256s: Sequence[str]) -> dict[str, asset_pb2.AssetInfo]: ...
    async def known_product_ids(self, product_ids: Sequence[str]) -> frozenset[str]: ...
    async def card_products(self, store_id: str) -> list[tuple[str, int]]: ...


class CloudStore(AdvertiserStore, CampaignStore, CatalogStore, LedgerStore, EdgeStatusStore, AssetStore, Protocol):
    """All of the cloud's storage."""

    async def close(self) -> None: ...
