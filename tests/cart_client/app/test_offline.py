"""Edge unreachable: the cart goes on with house content and sends its queued events, once, when the edge returns."""

from __future__ import annotations

from pathlib import Path

import grpc

from cart_client.app.outbox import SqliteOutbox
from cart_client.app.runner import run_trip
from cart_client.sensors.trace import Checkout, Scan, SensorEvent, Touch, Weight, Zone
from cartads.v1 import ad_service_pb2_grpc, common_pb2
from tests.cart_client.fakes import FakeAdService
from tests.cart_client.grpc_fake import fake_edge
from tests.cart_client.live_cart import live_cart
from tests.eventually import eventually

TRACE: list[SensorEvent] = [
    Zone("zone-24", 0),
    Scan("24852", 4_000),
    Weight(120.0, 5_000),
    Touch("slot-0", 6_000),
    Scan("27845", 9_000),
    Weight(1_040.0, 10_000),
    Checkout(30_000),
]


async def test_events_of_an_offline_trip_wait_on_disk_and_go_out_once_after_a_restart(tmp_path: Path) -> None:
    """With the edge down the trip finishes on house content; a restarted cart sends the queue, each event once."""
    fake = FakeAdService()
    async with fake_edge(fake) as edge, grpc.aio.insecure_channel(edge.address) as channel:
        edge.servicer.down = True
        outbox = SqliteOutbox(tmp_path)
        stats = await run_trip(
            ad_service_pb2_grpc.AdServiceStub(channel),
            store_id="store-1",
            cart_id="cart-1",
            session_id="trip-1",
            events=TRACE,
            render=lambda _line: None,
            outbox=outbox,
        )
        outbox.close()
        assert stats.house_fills == 2
        assert stats.basket_adds == 2
        assert stats.events_unreported == 3  # two basket adds and the checkout
        assert fake.journal == {}

        edge.servicer.down = False
        reopened = SqliteOutbox(tmp_path)
        again = await run_trip(
            ad_service_pb2_grpc.AdServiceStub(channel),
            store_id="store-1",
            cart_id="cart-1",
            session_id="trip-2",
            events=[Checkout(0)],
            render=lambda _line: None,
            outbox=reopened,
        )
    assert again.events_unreported == 0
    assert reopened.depth() == 0
    sent = [e.event_id for r in fake.report_requests for e in r.events]
    assert len(sent) == len(set(sent)) == len(fake.journal)
    assert [e.session_id for e in fake.journaled(common_pb2.EVENT_TYPE_BASKET_ADD)] == ["trip-1", "trip-1"]
    reopened.close()


async def test_live_cart_shows_house_content_offline_and_drains_when_the_edge_returns(tmp_path: Path) -> None:
    """The screen keeps the basket, shows house content and 'offline'; the sender delivers everything once back."""
    async with live_cart(tmp_path) as cart:
        cart.edge.servicer.down = True
        await cart.session.sensor(Zone("zone-24"), 0)
        await cart.session.sensor(Scan("24852"), 4_000)
        await cart.session.sensor(Weight(119.0), 5_000)
        state = cart.screen.state()
        assert [line["name"] for line in state["basket"]] == ["Banana"]
        assert all(slot["ad"]["house"] for slot in state["slots"])
        queued = cart.session.outbox.depth()
        assert queued == 1  # the basket add; house content reports nothing
        cart.edge.servicer.down = False
        await eventually(lambda: len(cart.fake.journal) == queued, timeout_s=10.0)
        assert await cart.screen.drained(timeout_s=5.0)
        assert cart.screen.state()["edge_reachable"] is True
        sent = [e.event_id for r in cart.fake.report_requests for e in r.events]
        assert len(sent) == len(set(sent)) == queued
