"""GetDeliveryStatus over a real cloud and edge: leases per store, the reasons in plain words, and the
hostile inputs (bad ids, unknown ids, another advertiser's campaign)."""

from __future__ import annotations

import asyncio
import re
import sys
import time

import grpc
import pytest

from cartads.rpc.bearer import aio_channel
from cartads.rpc.errors import field_violations
from cartads.v1 import ad_service_pb2, admin_pb2, admin_pb2_grpc, common_pb2
from cloud_core.access.policy import Role
from tests.integration.whole_loop import STORE_ID, Loop

LINE_ITEM_ID = "li-organic-whole-affinity"


async def _billed_impression(loop: Loop) -> ad_service_pb2.Ad:
    """One ad of the affinity line item, its impression billed."""
    item = await loop.admin.GetLineItem(admin_pb2.GetLineItemRequest(line_item_id=LINE_ITEM_ID))
    product_id = item.line_item.targeting.product_ids[0]
    response = await loop.ads.GetAds(
        ad_service_pb2.GetAdsRequest(
            store_id=STORE_ID,
            cart_id="cart-d",
            session_id="s-d",
            trigger=common_pb2.TRIGGER_SCAN,
            scanned_product_id=product_id,
            basket=[common_pb2.BasketLine(product_id=product_id, quantity=1)],
            max_ads=3,
        )
    )
    (ad,) = [a for a in response.ads if a.line_item_id == LINE_ITEM_ID]
    impression = common_pb2.CartEvent(
        event_id="imp-d",
        type=common_pb2.EVENT_TYPE_IMPRESSION,
        cart_id="cart-d",
        session_id="s-d",
        tracking_token=ad.tracking_token,
        ad_id=ad.ad_id,
        visible_duration_ms=1_000,
    )
    await loop.ads.ReportEvents(
        ad_service_pb2.ReportEventsRequest(store_id=STORE_ID, cart_id="cart-d", events=[impression])
    )
    await loop.edge.wait_for_upload(timeout_s=10.0)
    return ad


async def test_a_serving_campaign_shows_its_lease_and_plan_per_store(loop: Loop) -> None:
    """A live campaign is serving at the store with an outstanding lease that has not expired."""
    ad = await _billed_impression(loop)
    status = await loop.admin.GetDeliveryStatus(admin_pb2.GetDeliveryStatusRequest(campaign_id=ad.campaign_id))
    (store,) = [s for s in status.stores if s.store_id == STORE_ID]
    assert store.serving
    assert store.lease_allowance_micros > 0
    assert store.lease_expire_time.seconds > time.time()
    assert store.lease_spent_micros > 0
    assert 0 < store.pacing_rate <= 1
    assert status.state != "not delivering"
    assert status.summary.startswith("Spent $")


async def test_a_budget_all_but_spent_reads_as_plain_words(loop: Loop) -> None:
    """With the budget all but spent, today's plan at the store is spent: the line item is not
    delivering, and the leading reason says so with the amounts."""
    ad = await _billed_impression(loop)
    spend = await loop.admin.GetSpendReport(admin_pb2.GetSpendReportRequest())
    spent = next(c.spend_micros for c in spend.campaigns if c.campaign_id == ad.campaign_id)
    campaign = (await loop.admin.GetCampaign(admin_pb2.GetCampaignRequest(campaign_id=ad.campaign_id))).campaign
    campaign.budget_micros = spent + 1
    update = admin_pb2.UpdateCampaignRequest(campaign=campaign)
    update.update_mask.paths.append("budget_micros")
    await loop.admin.UpdateCampaign(update)
    status = await loop.admin.GetDeliveryStatus(admin_pb2.GetDeliveryStatusRequest(line_item_id=LINE_ITEM_ID))
    assert (status.line_item_id, status.state) == (LINE_ITEM_ID, "not delivering")
    (store,) = status.stores
    assert not store.serving
    leading = status.reasons[0]
    assert (leading.code, leading.store_id) == ("DAILY_PLAN_SPENT", STORE_ID)
    assert re.fullmatch(
        rf"today's plan at {STORE_ID} spent \(\$[0-9.,]+ of \$[0-9.,]+\) until local midnight", leading.text
    )
    assert status.summary.endswith(f"Leading reason: {leading.text}.")


@pytest.mark.parametrize(
    ("request_fields", "code", "field"),
    [
        ({}, grpc.StatusCode.INVALID_ARGUMENT, "campaign_id"),
        ({"campaign_id": "c", "line_item_id": "l"}, grpc.StatusCode.INVALID_ARGUMENT, "campaign_id"),
        ({"campaign_id": "no such/id"}, grpc.StatusCode.INVALID_ARGUMENT, "campaign_id"),
        ({"campaign_id": "cmp-nope"}, grpc.StatusCode.NOT_FOUND, "campaign_id"),
        ({"line_item_id": "li-nope"}, grpc.StatusCode.NOT_FOUND, "line_item_id"),
    ],
    ids=["neither", "both", "malformed", "unknown campaign", "unknown line item"],
)
async def test_bad_requests_name_the_field(
    loop: Loop, request_fields: dict[str, str], code: grpc.StatusCode, field: str
) -> None:
    """Missing, doubled, malformed or unknown ids are refused with the field named."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await loop.admin.GetDeliveryStatus(admin_pb2.GetDeliveryStatusRequest(**request_fields))
    assert err.value.code() == code
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        assert field in {f for f, _ in field_violations(err.value)}
    else:
        assert field in (err.value.details() or "") or field_violations(err.value)


async def test_another_advertisers_campaign_is_permission_denied(loop: Loop) -> None:
    """An advertiser token asking for another advertiser's campaign or line item is PERMISSION_DENIED."""
    item = (await loop.admin.GetLineItem(admin_pb2.GetLineItemRequest(line_item_id=LINE_ITEM_ID))).line_item
    channel = aio_channel(
        f"127.0.0.1:{loop.cloud.port}", await loop.cloud.mint_token(Role.ADVERTISER, advertiser_id="adv-someone-else")
    )
    try:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        for request in (
            admin_pb2.GetDeliveryStatusRequest(campaign_id=item.campaign_id),
            admin_pb2.GetDeliveryStatusRequest(line_item_id=LINE_ITEM_ID),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.GetDeliveryStatus(request)
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await channel.close(None)


async def test_cartads_admin_delivery_status_prints_stores_and_reasons(loop: Loop) -> None:
    """`cartads-admin delivery status --campaign ID` prints the state, the store's lease and the summary."""
    ad = await _billed_impression(loop)
    argv = ["--cloud", f"127.0.0.1:{loop.cloud.port}", "--token", loop.admin_token]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cloud_core.admin_cli.main",
        *argv,
        "delivery",
        "status",
        "--campaign",
        ad.campaign_id,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    text = out.decode()
    assert text.startswith(f"campaign {ad.campaign_id}: ")
    assert "Spent $" in text
    (store_line,) = [line for line in text.splitlines() if line.startswith(STORE_ID)]
    assert store_line.split()[1] == "yes"
