"""The cart's credential: chosen from its file, sent on every call; a refusal stops the cart, keeps its events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2

from cart_client.app.credential import (
    CredentialedAdService,
    CredentialError,
    CredentialRefusedError,
    choose,
    load_entries,
)
from cart_client.app.outbox import MemoryOutbox
from cart_client.app.runner import run_trip
from cart_client.sensors.trace import Checkout, Scan, SensorEvent, Weight, Zone
from cartads.credential_file import CartCredentialEntry
from cartads.v1 import ad_service_pb2
from tests.cart_client.fakes import FakeAdService, rpc_error
from tests.cart_credentials import credential_of

TRIP: list[SensorEvent] = [Zone("zone-24", 0), Scan("24852", 1_000), Weight(455.0, 2_000), Checkout(5_000)]


def entry(cart_id: str, store_id: str = "store-1") -> CartCredentialEntry:
    return CartCredentialEntry(store_id, cart_id, credential_of(cart_id, store_id))


def ids() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"id-{n}"


async def test_every_call_carries_the_credential() -> None:
    """GetAds and ReportEvents both go out with the cart's credential."""
    fake = FakeAdService()
    stub = CredentialedAdService(fake, credential_of("cart-1", "store-1"))
    new_id = ids()
    await run_trip(stub, store_id="store-1", cart_id="cart-1", session_id="s", events=TRIP, new_id=lambda: next(new_id))
    sent = [r.cart_credential for r in fake.get_ads_requests] + [r.cart_credential for r in fake.report_attempts]
    assert sent
    assert set(sent) == {credential_of("cart-1", "store-1")}


class RefusingAdService(FakeAdService):
    """An edge that refuses the cart's credential."""

    async def GetAds(  # noqa: N802
        self,
        request: ad_service_pb2.GetAdsRequest,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> ad_service_pb2.GetAdsResponse:
        raise rpc_error(grpc.StatusCode.UNAUTHENTICATED, "cart_credential is not enrolled")

    async def ReportEvents(  # noqa: N802
        self,
        request: ad_service_pb2.ReportEventsRequest,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> ad_service_pb2.ReportEventsResponse:
        self.report_attempts.append(request)
        raise rpc_error(grpc.StatusCode.UNAUTHENTICATED, "cart_credential is not enrolled")


async def test_a_refused_credential_stops_the_trip_and_keeps_its_events() -> None:
    """The first refusal ends the trip with CredentialRefusedError; the outbox still holds what was queued."""
    fake = RefusingAdService()
    outbox = MemoryOutbox()
    new_id = ids()
    with pytest.raises(CredentialRefusedError) as refused:
        await run_trip(
            CredentialedAdService(fake, credential_of("cart-1", "store-1")),
            store_id="store-1",
            cart_id="cart-1",
            session_id="s",
            events=TRIP,
            new_id=lambda: next(new_id),
            outbox=outbox,
        )
    assert "UNAUTHENTICATED" in str(refused.value)
    assert len(fake.report_attempts) <= 1
    assert outbox.depth() == sum(len(r.events) for r in fake.report_attempts)


def test_the_only_entry_of_the_store_is_chosen() -> None:
    """A file with one cart of the store gives that cart, its id included."""
    assert choose([entry("cart-7")], "store-1", None).cart_id == "cart-7"


def test_several_carts_need_cart() -> None:
    """A file of several carts without --cart is an error saying so; with it, that cart."""
    entries = [entry("cart-1"), entry("cart-2")]
    with pytest.raises(CredentialError, match="--cart"):
        choose(entries, "store-1", None)
    assert choose(entries, "store-1", "cart-2").cart_id == "cart-2"


def test_another_stores_file_is_an_error() -> None:
    """A credential file of another store is refused before anything is sent."""
    with pytest.raises(CredentialError, match="store-1"):
        choose([entry("cart-1", "store-2")], "store-1", None)


def test_a_directory_without_files_is_an_error(tmp_path: Path) -> None:
    """--credentials DIR holding no *.json is one clear error."""
    with pytest.raises(CredentialError, match=r"no \*\.json"):
        load_entries(tmp_path)


def throttled(delay_s: float) -> grpc.aio.AioRpcError:
    """RESOURCE_EXHAUSTED with a RetryInfo, as the edge answers a cart over its rate."""
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.FromNanoseconds(int(delay_s * 1e9))
    status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message="over its rate")
    status.details.add().Pack(retry)
    trailing = grpc.aio.Metadata(("grpc-status-details-bin", status.SerializeToString()))
    return grpc.aio.AioRpcError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.aio.Metadata(),
        trailing,
        details="over its rate",
        debug_error_string="",
    )


class ThrottlingAdService(FakeAdService):
    """Refuses the first report with a short RetryInfo, then journals as usual."""

    throttle_left: int = 1

    async def ReportEvents(  # noqa: N802
        self,
        request: ad_service_pb2.ReportEventsRequest,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> ad_service_pb2.ReportEventsResponse:
        if self.throttle_left:
            self.throttle_left -= 1
            self.report_attempts.append(request)
            raise throttled(0.01)
        return await super().ReportEvents(request, timeout)


async def test_a_throttled_report_is_sent_again_after_the_edges_delay() -> None:
    """A report refused with RetryInfo is re-sent after the delay: nothing stays unreported."""
    fake = ThrottlingAdService()
    new_id = ids()
    stats = await run_trip(
        fake, store_id="store-1", cart_id="cart-1", session_id="s", events=TRIP, new_id=lambda: next(new_id)
    )
    assert fake.throttle_left == 0
    assert stats.events_unreported == 0
    assert len(fake.journal) == stats.events_reported > 0
