"""The whole loop: admin changes reach the edge, carts' events are billed exactly once."""

from __future__ import annotations

import time
import uuid

import grpc
import pytest

from cartads.demo.demo import DemoConfig, run_demo
from cartads.rpc.errors import field_violations
from cartads.v1 import ad_service_pb2, admin_pb2, common_pb2
from tests.eventually import eventually
from tests.integration.whole_loop import STORE_ID, Loop


async def test_demo_bills_exactly_what_carts_reported() -> None:
    """Replayed trips through concurrent carts are billed, impression for impression and click for click."""
    summary = await run_demo(DemoConfig(carts=3, trips=6, seed=3, click_probability=0.5))
    assert summary.trips == 6
    # Carts show every ad they are served, once, and click only ads they showed.
    assert summary.impressions_reported == summary.ads_served > 0
    assert 0 < summary.clicks_reported <= summary.impressions_reported
    assert summary.billed_matches_reported
    assert summary.spend_micros > 0
    assert sum(c.spend_micros for c in summary.campaigns) == summary.spend_micros


async def test_scan_of_targeted_product_serves_its_line_item(loop: Loop) -> None:
    """Scanning a product that an affinity line item targets gets an ad with a tracking token."""
    item = await loop.admin.GetLineItem(admin_pb2.GetLineItemRequest(line_item_id="li-organic-whole-affinity"))
    product_id = item.line_item.targeting.product_ids[0]
    response = await loop.ads.GetAds(
        ad_service_pb2.GetAdsRequest(
            store_id=STORE_ID,
            cart_id="cart-1",
            session_id="s-1",
            request_id="r-1",
            trigger=common_pb2.TRIGGER_SCAN,
            scanned_product_id=product_id,
            basket=[common_pb2.BasketLine(product_id=product_id, quantity=1)],
            max_ads=3,
        )
    )
    assert "li-organic-whole-affinity" in [ad.line_item_id for ad in response.ads]
    assert all(ad.tracking_token for ad in response.ads)
    assert response.index_version == loop.edge.index_version


@pytest.mark.latency
async def test_admin_change_reaches_the_edge_within_a_second(loop: Loop) -> None:
    """A line item created in the cloud is served by the connected edge less than a second later."""
    product = loop.catalog.products[0]
    await loop.admin.CreateCreative(
        admin_pb2.CreateCreativeRequest(
            creative_id="cr-new",
            creative=admin_pb2.CreativeSpec(
                advertiser_id="adv-house",
                display_name="new",
                format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
                headline=product.name,
                promoted_product_id=product.product_id,
                call_to_action="Add",
            ),
        )
    )
    await loop.admin.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id="cr-new"))
    before = loop.edge.index_version
    started = time.monotonic()
    await loop.admin.CreateLineItem(
        admin_pb2.CreateLineItemRequest(
            line_item_id="li-new",
            line_item=admin_pb2.LineItem(
                campaign_id="cmp-house",
                display_name="new zone line",
                pricing_model=common_pb2.PRICING_MODEL_CPM,
                bid_micros=99_000_000,
                targeting=admin_pb2.Targeting(zone_ids=["zone-3"]),
                creative_ids=["cr-new"],
                state=admin_pb2.SERVING_STATE_ACTIVE,
            ),
        )
    )
    # The edge announces no change of index: poll the version it serves.
    await eventually(lambda: loop.edge.index_version != before, interval_s=0.005, what="a new version served")
    assert time.monotonic() - started < 1.0, "edge did not get the new index within a second"
    response = await loop.ads.GetAds(
        ad_service_pb2.GetAdsRequest(
            store_id=STORE_ID,
            cart_id="cart-9",
            session_id=uuid.uuid4().hex,
            trigger=common_pb2.TRIGGER_ZONE_ENTER,
            zone_id="zone-3",
            max_ads=1,
        )
    )
    assert [ad.line_item_id for ad in response.ads] == ["li-new"]


async def test_resent_events_are_billed_once(loop: Loop) -> None:
    """The same impression reported twice (a cart retry) is billed once."""
    response = await loop.ads.GetAds(
        ad_service_pb2.GetAdsRequest(
            store_id=STORE_ID, cart_id="cart-2", session_id="s-2", trigger=common_pb2.TRIGGER_SESSION_START, max_ads=1
        )
    )
    (ad,) = response.ads
    event = common_pb2.CartEvent(
        event_id="ev-1",
        type=common_pb2.EVENT_TYPE_IMPRESSION,
        cart_id="cart-2",
        session_id="s-2",
        tracking_token=ad.tracking_token,
        ad_id=ad.ad_id,
        visible_duration_ms=1_000,
    )
    for _ in range(2):
        await loop.ads.ReportEvents(
            ad_service_pb2.ReportEventsRequest(store_id=STORE_ID, cart_id="cart-2", events=[event])
        )
    await loop.edge.wait_for_upload(timeout_s=10.0)
    report = await loop.admin.GetSpendReport(admin_pb2.GetSpendReportRequest(store_id=STORE_ID))
    assert report.billed_event_count == 1
    house = next(c for c in report.campaigns if c.campaign_id == ad.campaign_id)
    assert house.impressions == 1


async def test_unknown_store_is_not_found_with_the_field(loop: Loop) -> None:
    """GetAds for a store this edge does not serve answers NOT_FOUND naming store_id."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await loop.ads.GetAds(ad_service_pb2.GetAdsRequest(store_id="store-x", cart_id="c"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "store_id" in [field for field, _ in field_violations(caught.value)]


async def test_plays_are_reported_and_only_viewable_impressions_bill(loop: Loop) -> None:
    """Two ads played, one of them viewable: the report says 2 plays, 1 impression, 50% viewable; one event bills."""
    ads = []
    for session_id in ("s-3", "s-4"):
        response = await loop.ads.GetAds(
            ad_service_pb2.GetAdsRequest(
                store_id=STORE_ID, cart_id="cart-3", session_id=session_id, trigger=common_pb2.TRIGGER_SESSION_START
            )
        )
        ads.append((session_id, response.ads[0]))

    def event(
        event_id: str, kind: int, shown: tuple[str, ad_service_pb2.Ad], visible_duration_ms: int = 0
    ) -> common_pb2.CartEvent:
        session_id, ad = shown
        return common_pb2.CartEvent(
            event_id=event_id,
            type=kind,  # type: ignore[arg-type]
            cart_id="cart-3",
            session_id=session_id,
            tracking_token=ad.tracking_token,
            ad_id=ad.ad_id,
            visible_duration_ms=visible_duration_ms,
        )

    play, impression = common_pb2.EVENT_TYPE_AD_PLAY, common_pb2.EVENT_TYPE_IMPRESSION
    events = [
        event("p-1", play, ads[0]),
        event("p-2", play, ads[1]),
        event("i-1", impression, ads[0], visible_duration_ms=1_000),
    ]
    await loop.ads.ReportEvents(ad_service_pb2.ReportEventsRequest(store_id=STORE_ID, cart_id="cart-3", events=events))
    await loop.edge.wait_for_upload(timeout_s=10.0)
    spend = await loop.admin.GetSpendReport(admin_pb2.GetSpendReportRequest(store_id=STORE_ID))
    assert spend.billed_event_count == 1
    request = admin_pb2.RunReportRequest(dimensions=[admin_pb2.REPORT_DIMENSION_STORE])
    request.start_time.FromSeconds(int(time.time()) - 7200)
    request.end_time.FromSeconds(int(time.time()) + 7200)
    totals = (await loop.admin.RunReport(request)).totals
    assert (totals.plays, totals.impressions, totals.viewability_rate) == (2, 1, 0.5)
