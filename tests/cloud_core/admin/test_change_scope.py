"""A line item change recompiles the stores its campaign targets before or after, not every store."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.field_mask_pb2 import FieldMask

from cartads.v1 import admin_pb2
from cloud_core.admin.line_items import LineItemAdmin
from cloud_core.compile.change_scope import stores_touched
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.sync.notifier import InProcessNotifier
from tests.cloud_core.helpers import NOW, campaign, creative, line_item


def targeting(*store_ids: str) -> admin_pb2.Targeting:
    return admin_pb2.Targeting(store_ids=list(store_ids))


def test_a_line_item_without_store_targeting_touches_every_store() -> None:
    """One line item of the campaign that serves everywhere makes the scope every store."""
    assert stores_touched([line_item(targeting=targeting("s1")), line_item("li2")]) is None


def test_the_scope_is_the_union_of_the_targeted_stores() -> None:
    """Stores named by any of the line items, each once, in order."""
    items = [line_item(targeting=targeting("s2", "s1")), line_item("li2", targeting=targeting("s1", "s3"))]
    assert stores_touched(items) == ["s1", "s2", "s3"]


async def _admin(store: SqlCloudStore, notifier: InProcessNotifier) -> LineItemAdmin:
    for store_id in ("s1", "s2", "s3"):
        await store.catalog.create_store(
            admin_pb2.Store(store_id=store_id, display_name=store_id, time_zone="UTC"), b"k" * 32
        )
    await store.advertisers.create_advertiser(admin_pb2.Advertiser(advertiser_id="acme", display_name="Acme"))
    await store.campaigns.create_campaign(campaign("c1"))
    await store.campaigns.create_campaign(campaign("c2"))
    await store.campaigns.create_creative(creative())

    def clock() -> datetime:
        return NOW

    return LineItemAdmin(store.campaigns, store.catalog, store.tokens, notifier, clock)


async def test_changes_recompile_only_the_campaigns_stores(store: SqlCloudStore) -> None:
    """Create, retarget, pause and delete bump the campaign's stores before and after; national bumps all."""
    notifier = InProcessNotifier()
    admin = await _admin(store, notifier)
    bumped: list[tuple[int, int, int]] = []

    def record() -> None:
        bumped.append((notifier.generation("s1"), notifier.generation("s2"), notifier.generation("s3")))

    await admin.create(admin_pb2.CreateLineItemRequest(line_item=line_item("li1", targeting=targeting("s1"))))
    record()
    await admin.create(
        admin_pb2.CreateLineItemRequest(line_item=line_item("li2", campaign_id="c2", targeting=targeting("s2")))
    )
    record()
    moved = line_item("li1", targeting=targeting("s3"))
    await admin.update(admin_pb2.UpdateLineItemRequest(line_item=moved, update_mask=FieldMask(paths=["targeting"])))
    record()
    await admin.pause(admin_pb2.PauseLineItemRequest(line_item_id="li2"))
    record()
    await admin.delete(admin_pb2.DeleteLineItemRequest(line_item_id="li2"))
    record()
    await admin.create(admin_pb2.CreateLineItemRequest(line_item=line_item("li3")))
    record()
    assert bumped == [(1, 0, 0), (1, 1, 0), (2, 1, 1), (2, 2, 1), (2, 3, 1), (3, 4, 2)]
