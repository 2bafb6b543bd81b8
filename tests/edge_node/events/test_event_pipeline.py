"""ReportEvents over gRPC: durable group-committed journal, conversions, lease spend, pushback."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from cartads import ivt, tracking_token
from cartads.v1.ad_service_pb2 import GetAdsRequest, NoFillReason, ReportEventsRequest
from cartads.v1.common_pb2 import CartEvent, EventType, PricingModel, PriorityTier, Trigger
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from tests.edge_node.helpers import (
    SIGNING_KEY,
    STORE_ID,
    AdStubFor,
    FakeCloud,
    StartEdge,
    creative,
    edge_config,
    line_item,
    make_index,
)

if TYPE_CHECKING:
    pass


def token(ad_id: str, line_item_id: str = "li", price_micros: int = 4_000_000, pricing: int = 1) -> str:
    payload = TrackingTokenPayload(
        ad_id=ad_id,
        store_id=STORE_ID,
        cart_id="cart-1",
        session_id="s-1",
        campaign_id=f"camp-{line_item_id}",
        line_item_id=line_item_id,
        creative_id=f"cr-{line_item_id}",
        pricing_model=pricing,  # type: ignore[arg-type]
        price_micros=price_micros,
        # Decided two seconds ago: an honest cart's impression comes after a viewable second.
        issue_time_unix_ms=int(time.time() * 1000) - 2_000,
    )
    return tracking_token.sign(payload, SIGNING_KEY)


def impression(event_id: str, ad_id: str, **kw: int) -> CartEvent:
    return CartEvent(
        event_id=event_id,
        type=EventType.EVENT_TYPE_IMPRESSION,
        cart_id="cart-1",
        session_id="s-1",
        tracking_token=token(ad_id, **kw),  # type: ignore[arg-type]
        ad_id=ad_id,
        visible_duration_ms=1_200,
    )


def report(*events: CartEvent) -> ReportEventsRequest:
    return ReportEventsRequest(store_id=STORE_ID, cart_id="cart-1", events=list(events))


def get_ads(session_id: str = "s-9") -> GetAdsRequest:
    return GetAdsRequest(
        store_id=STORE_ID, cart_id="cart-1", session_id=session_id, trigger=Trigger.TRIGGER_SESSION_START, max_ads=1
    )


def leased_index(allowance_micros: int, *, house: bool = False) -> object:
    items = [line_item("li", 4_000_000, budget_allowance_micros=allowance_micros, budget_lease_id="L1")]
    creatives = [creative("cr-li", promoted_product_id="p1")]
    if house:
        items.append(line_item("house", 1, priority_tier=PriorityTier.PRIORITY_TIER_HOUSE, budget_allowance_micros=0))
        creatives.append(creative("cr-house"))
    return make_index(items, {"all": [i.line_item_id for i in items]}, creatives=creatives)


async def test_basket_add_after_impression_journals_a_conversion(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, ad_stub_for: AdStubFor
) -> None:
    """An add-to-cart of the promoted product after an impression is journaled as one conversion."""
    fake, port = fake_cloud
    edge = await edges(edge_config(tmp_path, port))
    fake.push(leased_index(1_000_000_000))  # type: ignore[arg-type]
    await edge.wait_for_index()
    add = CartEvent(
        event_id="add-1", type=EventType.EVENT_TYPE_BASKET_ADD, session_id="s-1", product_id="p1", quantity=1
    )
    response = await ad_stub_for(edge).ReportEvents(report(impression("imp-1", "ad-1"), add))
    assert (response.accepted_count, response.conversion_count) == (2, 1)
    await fake.wait_for_events(3)
    conversion = next(j.event for j in fake.events.values() if j.event.type == EventType.EVENT_TYPE_CONVERSION)
    assert (conversion.ad_id, conversion.product_id, conversion.attributed_event_id) == ("ad-1", "p1", "add-1")


async def test_lease_spend_survives_an_edge_restart(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, ad_stub_for: AdStubFor
) -> None:
    """Spend that used up the lease is still counted after a restart, so the line item stays stopped."""
    fake, port = fake_cloud
    config = edge_config(tmp_path, port)
    edge = await edges(config)
    fake.push(leased_index(4_000))  # type: ignore[arg-type]  # one 4,000,000 CPM impression = 4,000 micros
    await edge.wait_for_index()
    assert len((await ad_stub_for(edge).GetAds(get_ads())).ads) == 1
    await ad_stub_for(edge).ReportEvents(report(impression("imp-1", "ad-1")))
    await edge.stop(grace_s=0.1)
    restarted = await edges(config)
    await restarted.wait_for_index()
    after = await ad_stub_for(restarted).GetAds(get_ads("s-10"))
    assert not after.ads
    assert after.no_fill_reason == NoFillReason.Value("NO_FILL_REASON_BUDGET_EXHAUSTED")


async def test_full_journal_pushes_back_then_drains(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, ad_stub_for: AdStubFor
) -> None:
    """Above the soft limit (bytes) only house ads serve, past the hard limit RESOURCE_EXHAUSTED; then it drains."""
    fake, port = fake_cloud
    fake.fail_next_uploads = 1_000_000
    hard_limit_bytes = 3_000
    config = edge_config(tmp_path, port, journal_soft_limit_bytes=1, journal_hard_limit_bytes=hard_limit_bytes)
    edge = await edges(config)
    fake.push(leased_index(1_000_000_000, house=True))  # type: ignore[arg-type]
    await edge.wait_for_index()
    stub = ad_stub_for(edge)
    assert (await stub.GetAds(get_ads())).ads[0].line_item_id == "li"
    first_reported = time.time()
    await stub.ReportEvents(report(impression("i-1", "a-1")))
    first_answered = time.time()
    one_event_bytes = edge.journal_unsent_bytes()
    assert (await stub.GetAds(get_ads("s-2"))).ads[0].line_item_id == "house"
    accepted = ["i-1"]
    refused: list[grpc.StatusCode] = []
    for n in range(2, 100):
        try:
            await stub.ReportEvents(report(impression(f"i-{n:02d}", f"a-{n:02d}")))
        except grpc.aio.AioRpcError as exc:
            refused.append(exc.code())
            break
        accepted.append(f"i-{n:02d}")
    assert refused == [grpc.StatusCode.RESOURCE_EXHAUSTED]
    # Refused only when the next event would not fit, and never past the limit.
    assert hard_limit_bytes - 2 * one_event_bytes < edge.journal_unsent_bytes() <= hard_limit_bytes
    assert edge.journal_depth() == len(accepted) > 2
    assert edge.events is not None
    # The oldest waiting events are the first reported: received between these two readings of the clock.
    since_answered = time.time() - first_answered
    age = edge.events.oldest_unsent_age_s()
    assert since_answered <= age <= time.time() - first_reported + 0.001  # receive times are whole ms
    fake.fail_next_uploads = 0
    await edge.wait_for_upload(timeout_s=10)
    assert sorted(fake.events) == sorted(accepted)
    assert edge.journal_unsent_bytes() == 0
    assert (await stub.GetAds(get_ads("s-3"))).ads[0].line_item_id == "li"


async def test_cpa_conversion_charges_the_lease(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, ad_stub_for: AdStubFor
) -> None:
    """A CPA decision's conversion adds its price to the campaign's local spend."""
    fake, port = fake_cloud
    edge = await edges(edge_config(tmp_path, port))
    items = [
        line_item(
            "li",
            500,
            pricing_model=PricingModel.PRICING_MODEL_CPA,
            budget_allowance_micros=1_000_000,
            budget_lease_id="L1",
        )
    ]
    fake.push(make_index(items, {"all": ["li"]}, creatives=[creative("cr-li", promoted_product_id="p1")]))
    await edge.wait_for_index()
    cpa = {"price_micros": 700, "pricing": PricingModel.PRICING_MODEL_CPA}
    add = CartEvent(
        event_id="add-1", type=EventType.EVENT_TYPE_BASKET_ADD, session_id="s-1", product_id="p1", quantity=1
    )
    await ad_stub_for(edge).ReportEvents(report(impression("imp-1", "ad-1", **cpa), add))
    assert edge.events is not None
    assert edge.events.spend.spend_micros("camp-li", "L1") == 700


async def test_journal_metrics_on_the_ops_endpoint(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, ad_stub_for: AdStubFor
) -> None:
    """/metrics shows journal depth, oldest unsent age, upload lag and pushback while the cloud is down."""
    fake, port = fake_cloud
    fake.fail_next_uploads = 1_000_000
    edge = await edges(edge_config(tmp_path, port, ops_listen_address="127.0.0.1:0", journal_soft_limit_bytes=1))
    fake.push(make_index())
    await edge.wait_for_index()
    await ad_stub_for(edge).ReportEvents(report(impression("i-1", "a-1")))
    url = f"http://127.0.0.1:{edge.ops_port}/metrics"

    def fetch() -> str:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())

    body = await asyncio.to_thread(fetch)
    assert "cartads_edge_journal_depth 1.0" in body
    assert f"cartads_edge_journal_unsent_bytes {float(edge.journal_unsent_bytes())}" in body
    assert "cartads_edge_journal_oldest_unsent_age_seconds" in body
    assert "cartads_edge_upload_lag_seconds" in body
    assert "cartads_edge_paid_ads_allowed 0.0" in body


async def test_an_invalid_impression_is_journaled_with_its_rule_but_never_attributed_or_spent(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, ad_stub_for: AdStubFor
) -> None:
    """A glance (visible 300 ms) is acknowledged and uploaded with VISIBLE_DURATION and the call's clock
    offset, but its product's add makes no conversion and the lease is charged nothing."""
    fake, port = fake_cloud
    edge = await edges(edge_config(tmp_path, port))
    fake.push(leased_index(1_000_000_000))  # type: ignore[arg-type]
    await edge.wait_for_index()
    glance = impression("imp-1", "ad-1")
    glance.visible_duration_ms = 300
    add = CartEvent(
        event_id="add-1", type=EventType.EVENT_TYPE_BASKET_ADD, session_id="s-1", product_id="p1", quantity=1
    )
    request = report(glance, add)
    request.send_time.FromMilliseconds(int(time.time() * 1000) - 30_000)  # the cart's clock runs 30 s slow
    response = await ad_stub_for(edge).ReportEvents(request)
    assert (response.accepted_count, response.conversion_count) == (2, 0)
    await fake.wait_for_events(2)
    uploaded = {j.event.event_id: j for j in fake.events.values()}
    assert uploaded["imp-1"].invalid_rule == ivt.VISIBLE_DURATION
    assert uploaded["add-1"].invalid_rule == 0
    assert 29_000 < uploaded["imp-1"].cart_clock_offset_ms < 31_000
    assert edge.events is not None
    assert edge.events.spend.spend_micros("camp-li", "L1") == 0
