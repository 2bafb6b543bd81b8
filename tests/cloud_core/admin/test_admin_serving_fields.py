"""AdminService round trip and validation of the serving fields: tiers, caps, exclusion, dayparting."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from cartads.v1 import admin_pb2, common_pb2
from tests.cloud_core.helpers import line_item, seed, violations_of

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub


def serving_line_item() -> admin_pb2.LineItem:
    item = line_item(targeting=admin_pb2.Targeting(daypart_hours=[8, 9], daypart_weekdays=[1, 5]))
    item.priority_tier = common_pb2.PRIORITY_TIER_SPONSORSHIP
    item.creative_frequency_cap_per_session = 2
    item.exclusion_label = "bananas"
    return item


async def test_line_item_serving_fields_round_trip(admin: AdminServiceAsyncStub) -> None:
    """Tier, creative cap, exclusion label and dayparting are stored and read back."""
    await seed(admin)
    created = (await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=serving_line_item()))).line_item
    got = (await admin.GetLineItem(admin_pb2.GetLineItemRequest(line_item_id=created.line_item_id))).line_item
    assert (got.priority_tier, got.creative_frequency_cap_per_session, got.exclusion_label) == (
        common_pb2.PRIORITY_TIER_SPONSORSHIP,
        2,
        "bananas",
    )
    assert (list(got.targeting.daypart_hours), list(got.targeting.daypart_weekdays)) == ([8, 9], [1, 5])


async def test_update_mask_sets_exclusion_label(admin: AdminServiceAsyncStub) -> None:
    """An update with mask exclusion_label changes only the label."""
    await seed(admin)
    created = (await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=serving_line_item()))).line_item
    patch = admin_pb2.LineItem(line_item_id=created.line_item_id, exclusion_label="soda")
    await admin.UpdateLineItem(
        admin_pb2.UpdateLineItemRequest(line_item=patch, update_mask=FieldMask(paths=["exclusion_label"]))
    )
    got = (await admin.GetLineItem(admin_pb2.GetLineItemRequest(line_item_id=created.line_item_id))).line_item
    assert (got.exclusion_label, got.creative_frequency_cap_per_session) == ("soda", 2)


async def test_campaign_frequency_cap_round_trip(admin: AdminServiceAsyncStub) -> None:
    """A campaign's frequency cap is stored and updated."""
    await seed(admin)
    patch = admin_pb2.Campaign(campaign_id="c1", frequency_cap_per_session=3)
    await admin.UpdateCampaign(
        admin_pb2.UpdateCampaignRequest(campaign=patch, update_mask=FieldMask(paths=["frequency_cap_per_session"]))
    )
    got = (await admin.GetCampaign(admin_pb2.GetCampaignRequest(campaign_id="c1"))).campaign
    assert got.frequency_cap_per_session == 3


async def test_bad_daypart_and_tier_name_the_fields(admin: AdminServiceAsyncStub) -> None:
    """An hour out of range, a weekday out of range and an unknown tier are named field by field."""
    await seed(admin)
    item = serving_line_item()
    item.targeting.daypart_hours.append(24)
    item.targeting.daypart_weekdays.append(0)
    item.priority_tier = 9  # type: ignore[assignment]
    item.creative_frequency_cap_per_session = -1
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=item))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {
        "line_item.targeting.daypart_hours[2]",
        "line_item.targeting.daypart_weekdays[2]",
        "line_item.priority_tier",
        "line_item.creative_frequency_cap_per_session",
    } <= set(violations_of(caught.value))
