"""A cart screen whose reports the edge refuses for its credential stops its trip with that error,
instead of queueing events forever behind a dead sender."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from cart_client.app.credential import CredentialedAdService, CredentialRefusedError
from cart_client.app.outbox import SqliteOutbox
from cart_client.app.session import CartSession
from cart_client.screen.server import SCREEN_SLOTS, CartScreen, ScreenConfig
from cart_client.sensors.trace import SensorEvent, Zone
from cart_client.trip.core import CartTrip
from cartads.v1 import ad_service_pb2
from tests.cart_client.fakes import FakeAdService, rpc_error


class ReportsRefused(FakeAdService):
    """Serves ads, refuses every report as from an unknown cart."""

    async def ReportEvents(  # noqa: N802
        self,
        request: ad_service_pb2.ReportEventsRequest,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> ad_service_pb2.ReportEventsResponse:
        raise rpc_error(grpc.StatusCode.UNAUTHENTICATED, "cart_credential is not enrolled")


async def test_a_refused_report_ends_the_screens_trip(tmp_path: Path) -> None:
    """The background sender's refusal surfaces from run() as CredentialRefusedError; the events stay queued."""
    counter = itertools.count(1)
    trip = CartTrip(
        store_id="store-1",
        cart_id="cart-1",
        session_id="trip-1",
        new_id=lambda: f"id-{next(counter)}",
        slots=SCREEN_SLOTS,
        impressions_on_render=False,
    )
    outbox = SqliteOutbox(tmp_path)
    session = CartSession(CredentialedAdService(ReportsRefused(), "v1:x"), trip, outbox, ads_deadline_s=1.0)
    screen = CartScreen(session, ScreenConfig(retry_min_s=0.01, retry_max_s=0.02))
    never = asyncio.Event()

    async def feed() -> AsyncIterator[SensorEvent]:
        yield Zone("zone-24", 0)
        await never.wait()  # a cart that never checks out: only the refusal can end the trip
        yield Zone("zone-1", 1)

    await screen.start()
    try:
        session.outbox.append([ad_service_pb2.ReportEventsRequest().events.add(event_id="queued")])
        with pytest.raises(CredentialRefusedError):
            async with asyncio.timeout(10):
                await screen.run(feed())
    finally:
        await screen.stop()
    assert outbox.depth() == 1
    outbox.close()
