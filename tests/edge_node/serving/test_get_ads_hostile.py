"""Hostile GetAds input against a real edge: clear errors naming the field, never INTERNAL or a crash.

The edge runs in its own thread and event loop, so that hypothesis (which cannot await) drives it
through a synchronous gRPC channel, as a cart would.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cartads.rpc.errors import field_violations
from cartads.v1 import ad_service_pb2_grpc
from cartads.v1.ad_service_pb2 import GetAdsRequest
from cartads.v1.common_pb2 import BasketLine, Slot, Trigger
from edge_node.app.server import start_edge
from tests.cart_credentials import credentialed_sync_channel
from tests.edge_node.helpers import STORE_ID, FakeCloud, edge_config, line_item, make_index, product, start_fake_cloud

# A fuzzed cart_id that is not the credential's cart is PERMISSION_DENIED; a fuzzed credential UNAUTHENTICATED.
_ANSWERS = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
}


class _EdgeThread:
    """A real edge (and fake cloud) serving from a background thread until stopped."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="edge-under-fuzz", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by start()
            self.error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        fake = FakeCloud()
        cloud, cloud_port = await start_fake_cloud(fake)
        edge = await start_edge(edge_config(self._tmp_path, cloud_port))
        try:
            items = [line_item(f"li-{i}", 1_000_000 + i, frequency_cap_per_session=2) for i in range(6)]
            postings = {"all": ["li-0", "li-1"], "aisle:24": ["li-2", "li-3"], "product:p1": ["li-4", "li-5"]}
            fake.push(make_index(items, postings, products=[product("p1"), product("p2")]))
            await edge.wait_for_index(timeout_s=10.0)
            self.port = edge.port
            self._ready.set()
            await self._stop.wait()
        finally:
            await edge.stop(grace_s=0.1)
            await cloud.stop(None)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=30)
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


@pytest.fixture(scope="module")
def edge_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The port of a real edge serving a small index."""
    runner = _EdgeThread(tmp_path_factory.mktemp("hostile"))
    runner.start()
    yield runner.port
    runner.stop()


@pytest.fixture(scope="module")
def stub(edge_port: int) -> Iterator[ad_service_pb2_grpc.AdServiceStub]:
    """A synchronous AdService stub on the edge."""
    with credentialed_sync_channel(f"127.0.0.1:{edge_port}") as channel:
        yield ad_service_pb2_grpc.AdServiceStub(channel)


def _code(stub: ad_service_pb2_grpc.AdServiceStub, request: GetAdsRequest) -> tuple[grpc.StatusCode, list[str]]:
    try:
        stub.GetAds(request, timeout=10)
    except grpc.RpcError as exc:
        return exc.code(), [field for field, _ in field_violations(exc)]
    return grpc.StatusCode.OK, []


_ids = st.one_of(st.sampled_from(["", "p1", "p2", "cart-1", "zone-24"]), st.text(max_size=140))
_requests = st.builds(
    GetAdsRequest,
    store_id=st.one_of(st.just(STORE_ID), _ids),
    cart_id=_ids,
    session_id=_ids,
    request_id=_ids,
    trigger=st.integers(-3, 40),
    scanned_product_id=_ids,
    zone_id=_ids,
    basket=st.lists(st.builds(BasketLine, product_id=_ids, quantity=st.integers(-(2**31), 2**31 - 1)), max_size=30),
    slots=st.lists(st.builds(Slot, slot_id=_ids, format=st.integers(-3, 12)), max_size=12),
    max_ads=st.integers(-(2**31), 2**31 - 1),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=_requests)
def test_fuzzed_requests_never_internal(stub: ad_service_pb2_grpc.AdServiceStub, request: GetAdsRequest) -> None:
    """Any GetAdsRequest gets OK, INVALID_ARGUMENT (naming a field) or NOT_FOUND; never INTERNAL/UNKNOWN."""
    code, fields = _code(stub, request)
    assert code in _ANSWERS
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        assert fields


def _valid(**fields: object) -> GetAdsRequest:
    request = GetAdsRequest(store_id=STORE_ID, cart_id="cart-h", session_id="s-h", trigger=Trigger.TRIGGER_SCAN)
    for name, value in fields.items():
        setattr(request, name, value)
    return request


def test_unknown_trigger_names_trigger(stub: ad_service_pb2_grpc.AdServiceStub) -> None:
    """An enum value the edge does not know is INVALID_ARGUMENT naming trigger."""
    assert _code(stub, _valid(trigger=77)) == (grpc.StatusCode.INVALID_ARGUMENT, ["trigger"])


def test_unknown_slot_format_names_slot(stub: ad_service_pb2_grpc.AdServiceStub) -> None:
    """An unknown slot format is INVALID_ARGUMENT naming slots[0].format."""
    request = _valid()
    request.slots.add(slot_id="s", format=42)
    assert _code(stub, request) == (grpc.StatusCode.INVALID_ARGUMENT, ["slots[0].format"])


def test_huge_basket_names_basket(stub: ad_service_pb2_grpc.AdServiceStub) -> None:
    """A basket beyond the line limit is INVALID_ARGUMENT naming basket."""
    request = _valid()
    request.basket.extend(BasketLine(product_id=f"x{i}", quantity=1) for i in range(501))
    assert _code(stub, request) == (grpc.StatusCode.INVALID_ARGUMENT, ["basket"])


def test_oversized_message_is_resource_exhausted(stub: ad_service_pb2_grpc.AdServiceStub) -> None:
    """A request above the edge's 1 MiB request cap is RESOURCE_EXHAUSTED, before any parsing."""
    request = _valid(request_id="r" * (2 * 1024 * 1024))
    assert _code(stub, request)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_unknown_ids_and_empty_slots_are_answered(stub: ad_service_pb2_grpc.AdServiceStub) -> None:
    """Unknown product and zone ids and no slots are a normal (possibly empty) answer, not an error."""
    request = _valid(scanned_product_id="no-such-product", zone_id="no-such-zone")
    request.basket.add(product_id="ghost", quantity=3)
    assert _code(stub, request) == (grpc.StatusCode.OK, [])
