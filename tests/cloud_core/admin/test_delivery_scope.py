"""GetDeliveryStatus previews only the stores the campaign or line item targets, not every store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cartads.v1 import admin_pb2, index_pb2
from cloud_core.admin.delivery.status import DeliveryAdmin
from cloud_core.delivery.leases import LeaseSettings
from cloud_core.delivery.pacing import StorePacing
from cloud_core.storage.cloud_store import SqlCloudStore
from tests.cloud_core.helpers import NOW, campaign, creative, line_item

ALL_STORES = frozenset({"s1", "s2", "s3"})


class RecordingPreview:
    """Remembers which stores were asked for; previews none (every store then says nothing)."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    async def preview_many(
        self, store_ids: Sequence[str]
    ) -> Mapping[str, tuple[index_pb2.StoreIndex, StorePacing | None]]:
        self.asked.append(list(store_ids))
        return {}


class NoTraffic:
    """Reads of a cloud that has seen no requests and no spend."""

    async def store_ids(self) -> frozenset[str]:
        return ALL_STORES

    async def request_counts(self, store_id: str, since_us: int) -> dict[tuple[int, int, int], tuple[int, int]]:
        return {}

    async def line_item_request_counts(self, store_id: str, since_us: int) -> dict[tuple[str, int], tuple[int, int]]:
        return {}

    async def campaign_spend_since(self, campaign_id: str, since_us: int) -> dict[str, int]:
        return {}


async def _delivery(store: SqlCloudStore, *items: admin_pb2.LineItem) -> tuple[DeliveryAdmin, RecordingPreview]:
    await store.advertisers.create_advertiser(admin_pb2.Advertiser(advertiser_id="acme", display_name="Acme"))
    await store.campaigns.create_campaign(campaign("c1"))
    await store.campaigns.create_creative(creative())
    for item in items:
        await store.campaigns.create_line_item(item)
    preview = RecordingPreview()
    return DeliveryAdmin(store.campaigns, preview, NoTraffic(), LeaseSettings(), clock=lambda: NOW), preview


async def test_a_local_campaign_previews_only_its_stores(store: SqlCloudStore) -> None:
    """A campaign whose line items target s1 and s3 has only those two stores compiled for its status."""
    admin, preview = await _delivery(
        store,
        line_item("li1", targeting=admin_pb2.Targeting(store_ids=["s3"])),
        line_item("li2", targeting=admin_pb2.Targeting(store_ids=["s1"])),
    )
    await admin.status(admin_pb2.GetDeliveryStatusRequest(campaign_id="c1"))
    assert preview.asked == [["s1", "s3"]]


async def test_a_line_item_previews_only_its_own_stores(store: SqlCloudStore) -> None:
    """A line item's status compiles the stores that line item targets, not its siblings' stores."""
    admin, preview = await _delivery(
        store,
        line_item("li1", targeting=admin_pb2.Targeting(store_ids=["s2"])),
        line_item("li2", targeting=admin_pb2.Targeting(store_ids=["s1"])),
    )
    await admin.status(admin_pb2.GetDeliveryStatusRequest(line_item_id="li1"))
    assert preview.asked == [["s2"]]


async def test_a_national_line_item_previews_every_store(store: SqlCloudStore) -> None:
    """One line item without store targeting serves everywhere, so every store is previewed."""
    admin, preview = await _delivery(
        store, line_item("li1", targeting=admin_pb2.Targeting(store_ids=["s2"])), line_item("li2")
    )
    await admin.status(admin_pb2.GetDeliveryStatusRequest(campaign_id="c1"))
    assert preview.asked == [sorted(ALL_STORES)]
