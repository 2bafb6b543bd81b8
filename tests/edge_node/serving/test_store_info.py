"""GetStoreInfo on a real edge (gRPC on port 0, fake cloud): the store's name and zones from its index."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from cartads.v1 import ad_service_pb2_grpc
from cartads.v1.ad_service_pb2 import GetStoreInfoRequest
from cartads.v1.index_pb2 import StoreIndex
from edge_node.app.server import EdgeServer
from tests.cart_credentials import credential_of
from tests.edge_node.helpers import STORE_ID, FakeCloud, StartEdge, edge_config, make_index, product, version_of


def named_index() -> StoreIndex:
    """An index of a store called "Demo Market" with products in aisles 24 (fresh fruits) and 31 (refrigerated)."""
    refrigerated = product("1118", aisle_id="31")
    refrigerated.aisle_name = "refrigerated"
    index = make_index(products=[product("24852", aisle_id="24"), refrigerated, product("21137", aisle_id="24")])
    index.settings.display_name = "Demo Market"
    index.version = version_of(index)
    return index


@pytest.fixture
async def channel() -> AsyncIterator[list[grpc.aio.Channel]]:
    """Channels to close at the end."""
    channels: list[grpc.aio.Channel] = []
    yield channels
    for c in channels:
        await c.close(None)


def ask(cart_id: str = "cart-1", *, store_id: str = STORE_ID, credential: str | None = None) -> GetStoreInfoRequest:
    return GetStoreInfoRequest(
        store_id=store_id,
        cart_id=cart_id,
        cart_credential=credential_of(cart_id, STORE_ID) if credential is None else credential,
    )


async def started(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, index: StoreIndex | None
) -> EdgeServer:
    fake, port = fake_cloud
    edge = await edges(edge_config(tmp_path, port))
    if index is not None:
        fake.push(index)
        await edge.wait_for_index(index.version)
    return edge


def stub(edge: EdgeServer, channels: list[grpc.aio.Channel]) -> ad_service_pb2_grpc.AdServiceAsyncStub:
    c = grpc.aio.insecure_channel(f"127.0.0.1:{edge.port}")
    channels.append(c)
    return ad_service_pb2_grpc.AdServiceStub(c)


async def test_an_enrolled_cart_gets_the_stores_name_and_its_zones(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, channel: list[grpc.aio.Channel]
) -> None:
    """The answer carries the index's store name and each zone once, by id, with its aisle's name."""
    index = named_index()
    answer = await stub(await started(fake_cloud, edges, tmp_path, index), channel).GetStoreInfo(ask())
    assert (answer.store_id, answer.display_name, answer.index_version) == (STORE_ID, "Demo Market", index.version)
    assert [(z.zone_id, z.aisle_id, z.display_name) for z in answer.zones] == [
        ("zone-24", "24", "fresh fruits"),
        ("zone-31", "31", "refrigerated"),
    ]


async def test_a_cart_without_a_credential_is_unauthenticated(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, channel: list[grpc.aio.Channel]
) -> None:
    """GetStoreInfo with no cart_credential is refused like GetAds: UNAUTHENTICATED."""
    edge_stub = stub(await started(fake_cloud, edges, tmp_path, named_index()), channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await edge_stub.GetStoreInfo(ask(credential=""))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_another_store_is_not_found_naming_the_field(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, channel: list[grpc.aio.Channel]
) -> None:
    """Asking this edge about another store answers NOT_FOUND naming store_id."""
    edge_stub = stub(await started(fake_cloud, edges, tmp_path, named_index()), channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await edge_stub.GetStoreInfo(ask(store_id="store-9"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "store_id" in (caught.value.details() or "")


async def test_an_edge_without_an_index_is_unavailable(
    fake_cloud: tuple[FakeCloud, int], edges: StartEdge, tmp_path: Path, channel: list[grpc.aio.Channel]
) -> None:
    """Before its first index the edge knows nothing of its store: UNAVAILABLE, so the cart asks again later."""
    edge_stub = stub(await started(fake_cloud, edges, tmp_path, None), channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await edge_stub.GetStoreInfo(ask())
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
