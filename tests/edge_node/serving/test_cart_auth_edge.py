"""A real edge (gRPC on port 0, fake cloud) answers only enrolled carts, as themselves, within their limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc
import pytest

from cartads import cart_credential, tracking_token
from cartads.rpc.errors import field_violations, retry_delay_s
from cartads.v1 import ad_service_pb2_grpc
from cartads.v1.ad_service_pb2 import GetAdsRequest, GetAdsResponse, NoFillReason, ReportEventsRequest
from cartads.v1.common_pb2 import CartEvent, EventType, PriorityTier, Trigger
from cartads.v1.index_pb2 import CartLimits, StoreIndex
from edge_node.app.server import EdgeServer
from tests.cart_credentials import TEST_CART_IDS, credential_of, index_carts
from tests.edge_node.helpers import (
    STORE_ID,
    FakeCloud,
    StartEdge,
    edge_config,
    line_item,
    make_index,
    version_of,
)

if TYPE_CHECKING:
    from pathlib import Path

    from cartads.v1.ad_service_pb2_grpc import AdServiceAsyncStub


def store_index(
    *, house: bool = False, limits: CartLimits | None = None, cart_ids: tuple[str, ...] = TEST_CART_IDS
) -> StoreIndex:
    """A paid run-of-store line item "li" (and a house one when asked), the given carts and limits."""
    items = [line_item("li", 4_000_000)]
    if house:
        items.append(line_item("house", 1, priority_tier=PriorityTier.PRIORITY_TIER_HOUSE, budget_allowance_micros=0))
    index = make_index(items, {"all": [i.line_item_id for i in items]}, carts=index_carts(STORE_ID, cart_ids))
    if limits is not None:
        index.settings.cart_limits.CopyFrom(limits)
        index.version = version_of(index)
    return index


def get_ads(cart_id: str, credential: str | None = None, session_id: str = "s-1") -> GetAdsRequest:
    return GetAdsRequest(
        store_id=STORE_ID,
        cart_id=cart_id,
        session_id=session_id,
        trigger=Trigger.TRIGGER_SESSION_START,
        max_ads=1,
        cart_credential=credential_of(cart_id, STORE_ID) if credential is None else credential,
    )


def checkout(event_id: str, cart_id: str = "") -> CartEvent:
    return CartEvent(event_id=event_id, type=EventType.EVENT_TYPE_CHECKOUT, cart_id=cart_id, session_id="s-1")


def report(cart: str, *events: CartEvent, cart_id: str = "", credential: str | None = None) -> ReportEventsRequest:
    return ReportEventsRequest(
        store_id=STORE_ID,
        cart_id=cart_id,
        events=list(events),
        cart_credential=credential_of(cart, STORE_ID) if credential is None else credential,
    )


@pytest.fixture
async def raw() -> AsyncIterator[list[grpc.aio.Channel]]:
    """Channels that add no credential; closed at the end."""
    channels: list[grpc.aio.Channel] = []
    yield channels
    for channel in channels:
        await channel.close(None)


async def serving(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, index: StoreIndex, **config: object
) -> EdgeServer:
    fake, port = fake_cloud
    edge = await edges(edge_config(tmp_path, port, **config))
    fake.push(index)
    await edge.wait_for_index(index.version)
    return edge


def stub_of(edge: EdgeServer, channels: list[grpc.aio.Channel]) -> AdServiceAsyncStub:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{edge.port}")
    channels.append(channel)
    return ad_service_pb2_grpc.AdServiceStub(channel)


async def refusal(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def test_get_ads_without_credential_is_unauthenticated(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, raw: list[grpc.aio.Channel]
) -> None:
    """GetAds with no cart_credential is UNAUTHENTICATED naming the field."""
    stub = stub_of(await serving(fake_cloud, edges, tmp_path, store_index()), raw)
    error = await refusal(stub.GetAds(get_ads("cart-1", credential="")))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert [f for f, _ in field_violations(error)] == ["cart_credential"]


async def test_report_without_credential_journals_nothing(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, raw: list[grpc.aio.Channel]
) -> None:
    """ReportEvents with no cart_credential is UNAUTHENTICATED and journals nothing."""
    edge = await serving(fake_cloud, edges, tmp_path, store_index())
    error = await refusal(stub_of(edge, raw).ReportEvents(report("cart-1", checkout("e1", "cart-1"), credential="")))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert edge.journal_depth() == 0


async def test_forged_secret_is_unauthenticated_and_never_echoed(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, raw: list[grpc.aio.Channel]
) -> None:
    """An enrolled credential id with a guessed secret is UNAUTHENTICATED; the secret is not in the answer."""
    stub = stub_of(await serving(fake_cloud, edges, tmp_path, store_index()), raw)
    real = cart_credential.parse(credential_of("cart-1", STORE_ID))
    guess = cart_credential.CartCredential(STORE_ID, real.credential_id, b"\x01" * 32)
    forged = cart_credential.format_credential(guess)
    error = await refusal(stub.GetAds(get_ads("cart-1", credential=forged)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert forged.rsplit(":", 1)[1] not in (error.details() or "")


async def test_another_stores_credential_is_permission_denied(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, raw: list[grpc.aio.Channel]
) -> None:
    """A cart enrolled to another store is PERMISSION_DENIED at this store's edge."""
    stub = stub_of(await serving(fake_cloud, edges, tmp_path, store_index()), raw)
    error = await refusal(stub.GetAds(get_ads("cart-1", credential=credential_of("cart-1", "store-2"))))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert [f for f, _ in field_violations(error)] == ["cart_credential"]


async def test_spoofed_cart_id_is_permission_denied(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, raw: list[grpc.aio.Channel]
) -> None:
    """cart-1's credential asking as cart-2 (to reset cart-2's caps, or bill as it) is PERMISSION_DENIED on cart_id."""
    stub = stub_of(await serving(fake_cloud, edges, tmp_path, store_index()), raw)
    request = get_ads("cart-2", credential=credential_of("cart-1", STORE_ID))
    error = await refusal(stub.GetAds(request))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert [f for f, _ in field_violations(error)] == ["cart_id"]


async def test_spoofed_event_cart_id_names_the_event(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, raw: list[grpc.aio.Channel]
) -> None:
    """An event of another cart in an authenticated report is PERMISSION_DENIED naming that event; nothing journaled."""
    edge = await serving(fake_cloud, edges, tmp_path, store_index())
    request = report("cart-1", checkout("e1", "cart-1"), checkout("e2", "cart-2"))
    error = await refusal(stub_of(edge, raw).ReportEvents(request))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert [f for f, _ in field_violations(error)] == ["events[1].cart_id"]
    assert edge.journal_depth() == 0


async def test_the_authenticated_cart_is_the_one_tokens_name(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, raw: list[grpc.aio.Channel]
) -> None:
    """A GetAds with no cart_id is served as the credential's cart: the tracking token names it."""
    stub = stub_of(await serving(fake_cloud, edges, tmp_path, store_index()), raw)
    request = get_ads("cart-1")
    request.ClearField("cart_id")
    response: GetAdsResponse = await stub.GetAds(request)
    assert tracking_token.peek(response.ads[0].tracking_token).cart_id == "cart-1"


async def test_journaled_events_are_the_authenticated_carts(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, raw: list[grpc.aio.Channel]
) -> None:
    """Events reported without cart ids are journaled and uploaded as the cart's, with its credential id."""
    edge = await serving(fake_cloud, edges, tmp_path, store_index())
    await stub_of(edge, raw).ReportEvents(report("cart-2", checkout("e1"), checkout("e2")))
    await fake_cloud[0].wait_for_events(2)
    credential_id = cart_credential.parse(credential_of("cart-2", STORE_ID)).credential_id
    uploaded = sorted((j.event.cart_id, j.cart_credential_id) for j in fake_cloud[0].events.values())
    assert uploaded == [("cart-2", credential_id)] * 2


async def test_a_cart_revoked_in_the_next_index_is_refused(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, raw: list[grpc.aio.Channel]
) -> None:
    """Once an index without cart-1 arrives, cart-1's (cached) credential is UNAUTHENTICATED; cart-2 is served."""
    edge = await serving(fake_cloud, edges, tmp_path, store_index())
    stub = stub_of(edge, raw)
    assert (await stub.GetAds(get_ads("cart-1"))).ads
    revoked = store_index(cart_ids=("cart-2",))
    fake_cloud[0].push(revoked)
    await edge.wait_for_index(revoked.version)
    error = await refusal(stub.GetAds(get_ads("cart-1", session_id="s-2")))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await stub.GetAds(get_ads("cart-2"))).ads


async def test_a_flooding_cart_is_throttled_while_an_honest_cart_keeps_paid_ads(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, raw: list[grpc.aio.Channel]
) -> None:
    """Over its calls/s a cart gets RESOURCE_EXHAUSTED with a retry delay; another cart keeps its paid ads."""
    index = store_index(limits=CartLimits(calls_per_s=0.5, call_burst=5))
    stub = stub_of(await serving(fake_cloud, edges, tmp_path, index), raw)
    refused = []
    for n in range(20):
        try:
            await stub.GetAds(get_ads("flood", session_id=f"f-{n}"))
        except grpc.aio.AioRpcError as exc:
            refused.append(exc)
    assert len(refused) == 15
    assert {e.code() for e in refused} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    delay = retry_delay_s(refused[-1])
    assert delay is not None
    assert 0 < delay <= 2.0
    for n in range(5):
        response = await stub.GetAds(get_ads("honest", session_id=f"h-{n}"))
        assert [ad.line_item_id for ad in response.ads] == ["li"]


async def test_a_journal_flood_by_one_cart_cannot_stop_other_carts_paid_ads(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, raw: list[grpc.aio.Channel]
) -> None:
    """With the cloud away, a cart at its journal share is refused and gets house ads; others still get paid ads."""
    fake_cloud[0].fail_next_uploads = 1_000_000
    index = store_index(house=True, limits=CartLimits(journal_share_bps=100))
    # Share: 1% of a 100,000-byte soft limit = 1,000 bytes (never less than one 800-byte request).
    edge = await serving(fake_cloud, edges, tmp_path, index, journal_soft_limit_bytes=100_000, max_request_bytes=800)
    stub = stub_of(edge, raw)
    accepted = 0
    refused: list[grpc.aio.AioRpcError] = []
    for n in range(30):
        try:
            await stub.ReportEvents(report("flood", checkout(f"f-{n:02d}-a"), checkout(f"f-{n:02d}-b")))
            accepted += 2
        except grpc.aio.AioRpcError as exc:
            refused.append(exc)
    assert 0 < accepted < 60
    assert edge.journal_depth() == accepted
    # Held back once its unsent bytes reached its share: the last report it was let in with crossed it.
    assert 1_000 <= edge.journal_unsent_bytes() < 1_000 + 2 * edge.journal_unsent_bytes() // accepted
    assert {e.code() for e in refused} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    flood_ads = await stub.GetAds(get_ads("flood", session_id="f-ads"))
    assert [ad.line_item_id for ad in flood_ads.ads] == ["house"]
    honest_ads = await stub.GetAds(get_ads("honest", session_id="h-ads"))
    assert [ad.line_item_id for ad in honest_ads.ads] == ["li"]
    assert (await stub.ReportEvents(report("honest", checkout("h-1")))).accepted_count == 1


async def test_a_journal_at_its_soft_limit_says_journal_full(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, raw: list[grpc.aio.Channel]
) -> None:
    """With the journal at its soft limit and no house ad, GetAds gets no ad with reason JOURNAL_FULL."""
    fake_cloud[0].fail_next_uploads = 1_000_000
    edge = await serving(fake_cloud, edges, tmp_path, store_index(), journal_soft_limit_bytes=1)
    stub = stub_of(edge, raw)
    await stub.ReportEvents(report("cart-1", checkout("e1"), checkout("e2")))
    response = await stub.GetAds(get_ads("cart-2"))
    assert list(response.ads) == []
    assert response.no_fill_reason == NoFillReason.NO_FILL_REASON_JOURNAL_FULL
