"""run_trip over real gRPC against a fake AdService on loopback."""

from __future__ import annotations

import grpc
import pytest

from cart_client.app.outbox import MemoryOutbox
from cart_client.app.runner import hold_for_viewability, run_trip
from cart_client.sensors.trace import Checkout, Scan, SensorEvent, Touch, Weight, Zone
from cartads.v1 import ad_service_pb2_grpc, common_pb2
from tests.cart_client.fakes import FakeAdService
from tests.cart_client.grpc_fake import fake_edge

TRACE: list[SensorEvent] = [
    Zone("zone-24", 0),
    Scan("24852", 4_000),
    Weight(120.0, 5_000),
    Touch("slot-0", 8_000),
    Checkout(20_000),
]


async def test_trip_over_grpc_reports_what_it_counts() -> None:
    """Over a real channel, the edge journals exactly the impressions and clicks the trip reports."""
    fake = FakeAdService()
    lines: list[str] = []
    async with fake_edge(fake) as edge, grpc.aio.insecure_channel(edge.address) as channel:
        stats = await run_trip(
            ad_service_pb2_grpc.AdServiceStub(channel),
            store_id="store-1",
            cart_id="cart-1",
            session_id="trip-1",
            events=TRACE,
            render=lines.append,
        )
    assert stats.ad_requests == len(fake.get_ads_requests) == 4
    assert stats.impressions_reported == len(fake.journaled(common_pb2.EVENT_TYPE_IMPRESSION)) == len(lines) == 8
    assert stats.clicks_reported == len(fake.journaled(common_pb2.EVENT_TYPE_CLICK)) == 1
    assert stats.events_reported == len(fake.journal)
    assert (stats.ad_request_errors, stats.report_errors, stats.events_unreported) == (0, 0, 0)


async def test_slow_edge_hits_the_deadline_and_the_trip_goes_on() -> None:
    """GetAds that outlives its deadline counts as an error; basket and checkout events still get through."""
    fake = FakeAdService()
    async with fake_edge(fake) as edge, grpc.aio.insecure_channel(edge.address) as channel:
        edge.servicer.get_ads_open.clear()
        stats = await run_trip(
            ad_service_pb2_grpc.AdServiceStub(channel),
            store_id="store-1",
            cart_id="cart-1",
            session_id="trip-1",
            events=[Scan("24852", 0), Weight(120.0, 3_000), Checkout(6_000)],
            render=lambda _line: None,
            deadline_s=0.05,
        )
    assert stats.ad_request_errors == stats.ad_requests == 3
    assert stats.ads_served == 0
    assert stats.events_reported == len(fake.journal) == 2


async def test_unreachable_edge_does_not_crash_the_trip() -> None:
    """With nothing listening, every call fails, is counted, and the events stay unreported."""
    async with fake_edge(FakeAdService()) as edge:
        address = edge.address
    async with grpc.aio.insecure_channel(address) as channel:
        stats = await run_trip(
            ad_service_pb2_grpc.AdServiceStub(channel),
            store_id="store-1",
            cart_id="cart-1",
            session_id="trip-1",
            events=TRACE,
            render=lambda _line: None,
        )
    assert stats.ad_request_errors == stats.ad_requests == 4
    assert stats.events_reported == 0
    assert stats.events_unreported == 2  # the basket add and the checkout
    assert stats.house_fills == 2
    assert stats.clicks_reported == 0
    # Every step from the basket add on tries the queue again (weight, touch, checkout), then the final flush.
    assert stats.report_errors == 4


async def test_a_text_carts_impression_waits_a_viewable_second_before_it_is_sent() -> None:
    """With viewable_wait, a queued impression made at render is held until it is a second old."""
    outbox = MemoryOutbox()
    impression = common_pb2.CartEvent(event_id="i", type=common_pb2.EVENT_TYPE_IMPRESSION)
    impression.occur_time.FromMilliseconds(1_800_000_000_000)
    outbox.append([impression])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    await hold_for_viewability(outbox, lambda: 1_800_000_000.25, sleep)
    assert slept == [pytest.approx(0.75)]
