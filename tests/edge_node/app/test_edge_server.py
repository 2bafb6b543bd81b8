"""The edge node over real gRPC on loopback, against a fake cloud."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from grpc_health.v1 import health_pb2

from cartads import tracking_token
from cartads.rpc.errors import field_violations
from cartads.v1.ad_service_pb2 import GetAdsRequest, NoFillReason, ReportEventsRequest
from cartads.v1.common_pb2 import BasketLine, CartEvent, EventType, PricingModel, Trigger
from cartads.v1.index_pb2 import StoreIndex
from edge_node.app.server import AD_SERVICE_NAME, EdgeServer
from edge_node.config import EdgeConfig
from tests.edge_node.helpers import (
    SIGNING_KEY,
    STORE_ID,
    AdStubFor,
    FakeCloud,
    StartEdge,
    edge_config,
    instant_ivt_policy,
    line_item,
    make_index,
    product,
    start_fake_cloud,
    version_of,
)

if TYPE_CHECKING:
    pass


def health_status(edge: EdgeServer) -> int:
    # In process: over the wire, cartads.rpc.runtime's log interceptor awaits the synchronous
    # health servicer and fails (reported to the lead); the status itself is what matters here.
    response = edge.health.Check(health_pb2.HealthCheckRequest(service=AD_SERVICE_NAME), None)  # type: ignore[arg-type]
    return int(response.status)


def scan_request(**fields: object) -> GetAdsRequest:
    request = GetAdsRequest(
        store_id=STORE_ID, cart_id="cart-1", session_id="s-1", request_id="r-1", trigger=Trigger.TRIGGER_SCAN
    )
    request.scanned_product_id = "p1"
    for name, value in fields.items():
        setattr(request, name, value)
    return request


def standard_index(**li_fields: Any) -> StoreIndex:
    return make_index(
        [line_item("aisle-li", 3_000_000, **li_fields), line_item("zone-li", 1_000_000)],
        {"aisle:24": ["aisle-li"], "zone:zone-24": ["zone-li"]},
        products=[product("p1", aisle_id="24")],
    )


async def serving_edge(fake_cloud: FakeCloud, edges: StartEdge, config: EdgeConfig, index: StoreIndex) -> EdgeServer:
    edge = await edges(config)
    fake_cloud.push(index)
    await edge.wait_for_index(timeout_s=5.0)
    return edge


async def test_pushed_index_is_acked_and_served_with_verifiable_token(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, config: EdgeConfig, ad_stub_for: AdStubFor
) -> None:
    """A pushed snapshot is ACKed, then GetAds serves its best ad with a token the key the edge registered
    on its stream verifies (not the store's shared key of the index)."""
    fake, _ = fake_cloud
    index = standard_index()
    edge = await edges(config)
    subscription = await fake.next_answer()
    assert (subscription.store_id, subscription.edge_id, subscription.version) == (STORE_ID, "edge-1", "")
    pushed = fake.push(index)
    ack = await fake.next_answer()
    assert (ack.response_nonce, ack.version, ack.error_detail) == (pushed.nonce, pushed.version, "")
    assert edge.index_version == pushed.version

    response = await ad_stub_for(edge).GetAds(scan_request(zone_id="zone-24", max_ads=2))
    assert response.index_version == pushed.version
    assert response.request_id == "r-1"
    assert [ad.line_item_id for ad in response.ads] == ["aisle-li", "zone-li"]
    registered = subscription.signing_key
    assert (len(registered.key_id), len(registered.key)) == (16, 32)
    with pytest.raises(tracking_token.InvalidTokenError):
        tracking_token.verify(response.ads[0].tracking_token, SIGNING_KEY)
    payload = tracking_token.verify_with(response.ads[0].tracking_token, {registered.key_id: registered.key})
    assert payload.signing_key_id == registered.key_id
    assert payload.ad_id == response.ads[0].ad_id
    assert (payload.store_id, payload.cart_id, payload.session_id) == (STORE_ID, "cart-1", "s-1")
    assert (payload.line_item_id, payload.campaign_id, payload.advertiser_id) == (
        "aisle-li",
        "camp-aisle-li",
        "adv-aisle-li",
    )
    # Second price: the winner pays the runner-up's (zone-li's) bid.
    assert (payload.pricing_model, payload.price_micros) == (PricingModel.PRICING_MODEL_CPM, 1_000_000)
    assert payload.index_version == pushed.version
    assert payload.creative_id == "cr-aisle-li"


async def test_no_index_means_no_fill(edges: StartEdge, config: EdgeConfig, ad_stub_for: AdStubFor) -> None:
    """Before any index arrives GetAds answers with NO_INDEX and an empty version."""
    edge = await edges(config)
    response = await ad_stub_for(edge).GetAds(scan_request())
    assert response.no_fill_reason == NoFillReason.NO_FILL_REASON_NO_INDEX
    assert response.index_version == ""


async def test_reported_events_reach_the_cloud(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, config: EdgeConfig, ad_stub_for: AdStubFor
) -> None:
    """ReportEvents journals the events and the uploader delivers them to the cloud."""
    fake, _ = fake_cloud
    edge = await serving_edge(fake, edges, config, standard_index())
    stub = ad_stub_for(edge)
    ad = (await stub.GetAds(scan_request())).ads[0]
    report = ReportEventsRequest(
        store_id=STORE_ID,
        cart_id="cart-1",
        events=[
            CartEvent(event_id="ev-1", type=EventType.EVENT_TYPE_IMPRESSION, tracking_token=ad.tracking_token),
            CartEvent(event_id="ev-2", type=EventType.EVENT_TYPE_CLICK, tracking_token=ad.tracking_token),
        ],
    )
    answer = await stub.ReportEvents(report)
    assert (answer.accepted_count, answer.duplicate_count) == (2, 0)
    await edge.wait_for_upload(timeout_s=5.0)
    assert edge.journal_depth() == 0
    assert set(fake.events) == {"ev-1", "ev-2"}
    uploaded = fake.events["ev-1"]
    assert uploaded.event.cart_id == "cart-1"
    assert uploaded.event.tracking_token == ad.tracking_token
    again = await stub.ReportEvents(report)
    assert (again.accepted_count, again.duplicate_count) == (0, 2)


async def test_restart_with_cloud_down_serves_last_index(
    tmp_path: Path, edges: StartEdge, ad_stub_for: AdStubFor
) -> None:
    """An edge restarted while the cloud is down serves its last index at once and reports SERVING."""
    fake = FakeCloud()
    server, port = await start_fake_cloud(fake)
    config = edge_config(tmp_path, port)
    first = await serving_edge(fake, edges, config, standard_index())
    version = first.index_version
    await first.stop(grace_s=0.1)
    await server.stop(None)

    second = await edges(config)
    assert second.index_version == version
    response = await ad_stub_for(second).GetAds(scan_request())
    assert [ad.line_item_id for ad in response.ads] == ["aisle-li"]
    assert health_status(second) == health_pb2.HealthCheckResponse.SERVING


async def test_unacknowledged_events_are_sent_after_restart(
    tmp_path: Path, edges: StartEdge, ad_stub_for: AdStubFor
) -> None:
    """Events journaled while the cloud is down are uploaded once it is back, even across a restart."""
    fake = FakeCloud()
    fake.push(make_index())  # the edge needs an index to check the cart's credential
    server, port = await start_fake_cloud(fake)
    config = edge_config(tmp_path, port)
    first = await edges(config)
    await first.wait_for_index()
    await server.stop(None)  # then the cloud is down
    report = ReportEventsRequest(
        store_id=STORE_ID, cart_id="cart-1", events=[CartEvent(event_id="b-1", type=EventType.EVENT_TYPE_CHECKOUT)]
    )
    await ad_stub_for(first).ReportEvents(report)
    await first.stop(grace_s=0.1)
    assert fake.events == {}

    server, _ = await start_fake_cloud(fake, port)
    try:
        second = await edges(config)
        await second.wait_for_upload(timeout_s=5.0)
    finally:
        await server.stop(None)
    assert set(fake.events) == {"b-1"}


async def test_nack_keeps_serving_old_index(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, config: EdgeConfig, ad_stub_for: AdStubFor
) -> None:
    """A snapshot that fails verification is NACKed with a reason and the old version keeps serving."""
    fake, _ = fake_cloud
    edge = await edges(config)
    await fake.next_answer()  # subscription
    good = fake.push(standard_index())
    await fake.next_answer()  # ACK
    bad = make_index([line_item("evil", 9_000_000)], {"all": ["evil"]})
    bad.line_items[0].bid_micros = 1  # no longer matches its version
    pushed_bad = fake.push(bad)
    nack = await fake.next_answer()
    assert nack.response_nonce == pushed_bad.nonce
    assert nack.version == good.version
    assert "version mismatch" in nack.error_detail
    assert edge.index_version == good.version
    response = await ad_stub_for(edge).GetAds(scan_request())
    assert [ad.line_item_id for ad in response.ads] == ["aisle-li"]


async def test_frequency_cap_across_requests(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, config: EdgeConfig, ad_stub_for: AdStubFor
) -> None:
    """A line item capped at one per session is not served twice to a session, but is to another."""
    fake, _ = fake_cloud
    index = make_index([line_item("once", frequency_cap_per_session=1)], {"all": ["once"]})
    edge = await serving_edge(fake, edges, config, index)
    stub = ad_stub_for(edge)
    assert len((await stub.GetAds(scan_request())).ads) == 1
    capped = await stub.GetAds(scan_request())
    assert capped.no_fill_reason == NoFillReason.NO_FILL_REASON_FREQUENCY_CAPPED
    assert len((await stub.GetAds(scan_request(session_id="s-2"))).ads) == 1


async def test_local_spend_stops_line_item_at_allowance(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, config: EdgeConfig, ad_stub_for: AdStubFor
) -> None:
    """After impressions spend a line item's allowance, the edge stops serving it."""
    fake, _ = fake_cloud
    # A lone bidder pays the reserve: 2,000,000 micros CPM is 2,000 micros per impression, and the
    # allowance covers exactly one.
    index = make_index([line_item("li", 2_000_000, budget_allowance_micros=2_000)], {"all": ["li"]})
    index.settings.reserve_cpm_micros = 2_000_000
    index.settings.ivt_policy.CopyFrom(instant_ivt_policy())
    index.version = version_of(index)
    edge = await serving_edge(fake, edges, config, index)
    stub = ad_stub_for(edge)
    ad = (await stub.GetAds(scan_request())).ads[0]
    impression = CartEvent(
        event_id="i-1",
        type=EventType.EVENT_TYPE_IMPRESSION,
        tracking_token=ad.tracking_token,
        session_id="s-1",
        visible_duration_ms=1_000,
    )
    await stub.ReportEvents(ReportEventsRequest(store_id=STORE_ID, cart_id="cart-1", events=[impression]))
    after = await stub.GetAds(scan_request(session_id="s-2"))
    assert after.no_fill_reason == NoFillReason.NO_FILL_REASON_BUDGET_EXHAUSTED


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"store_id": ""}, "store_id"),
        ({"cart_id": ""}, "cart_id"),
        ({"max_ads": 11}, "max_ads"),
        ({"max_ads": -1}, "max_ads"),
        ({"trigger": 99}, "trigger"),
    ],
)
async def test_bad_get_ads_is_invalid_argument_naming_field(
    edges: StartEdge, config: EdgeConfig, ad_stub_for: AdStubFor, fields: dict[str, object], field: str
) -> None:
    """Malformed GetAds requests fail with INVALID_ARGUMENT and a field violation naming the field."""
    edge = await edges(config)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await ad_stub_for(edge).GetAds(scan_request(**fields))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in [f for f, _ in field_violations(caught.value)]


async def test_bad_basket_line_is_invalid_argument(
    edges: StartEdge, config: EdgeConfig, ad_stub_for: AdStubFor
) -> None:
    """A basket line with a non-positive quantity is named in the violation."""
    edge = await edges(config)
    request = scan_request()
    request.basket.extend([BasketLine(product_id="p1", quantity=1), BasketLine(product_id="p2", quantity=0)])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await ad_stub_for(edge).GetAds(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(caught.value)] == ["basket[1].quantity"]


async def test_unknown_store_is_not_found(edges: StartEdge, config: EdgeConfig, ad_stub_for: AdStubFor) -> None:
    """GetAds for a store this edge does not serve is NOT_FOUND naming store_id."""
    edge = await edges(config)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await ad_stub_for(edge).GetAds(scan_request(store_id="store-999"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert [f for f, _ in field_violations(caught.value)] == ["store_id"]


async def test_bad_event_rejects_whole_report(
    edges: StartEdge, config: EdgeConfig, ad_stub_for: AdStubFor, fake_cloud: tuple[FakeCloud, int]
) -> None:
    """One event without an id rejects the call, names events[i].event_id, and journals nothing."""
    edge = await edges(config)
    fake_cloud[0].push(make_index())
    await edge.wait_for_index()
    report = ReportEventsRequest(
        store_id=STORE_ID,
        cart_id="cart-1",
        events=[
            CartEvent(event_id="ok", type=EventType.EVENT_TYPE_CHECKOUT),
            CartEvent(type=EventType.EVENT_TYPE_CHECKOUT),
        ],
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await ad_stub_for(edge).ReportEvents(report)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in field_violations(caught.value)] == ["events[1].event_id"]
    assert edge.journal_depth() == 0


async def test_ad_event_without_token_is_rejected(
    edges: StartEdge, config: EdgeConfig, ad_stub_for: AdStubFor, fake_cloud: tuple[FakeCloud, int]
) -> None:
    """An impression without a tracking token is INVALID_ARGUMENT naming events[0].tracking_token."""
    edge = await edges(config)
    fake_cloud[0].push(make_index())
    await edge.wait_for_index()
    report = ReportEventsRequest(
        store_id=STORE_ID, cart_id="c", events=[CartEvent(event_id="i", type=EventType.EVENT_TYPE_IMPRESSION)]
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await ad_stub_for(edge).ReportEvents(report)
    assert [f for f, _ in field_violations(caught.value)] == ["events[0].tracking_token"]


async def test_health_not_serving_without_index(edges: StartEdge, config: EdgeConfig) -> None:
    """AdService reports NOT_SERVING until the edge holds an index."""
    edge = await edges(config)
    assert health_status(edge) == health_pb2.HealthCheckResponse.NOT_SERVING
