"""Bad index updates are NACKed while the old index keeps serving; the next good update is ACKed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cartads.index.delta import compute_delta
from cartads.v1 import ad_service_pb2_grpc
from cartads.v1.ad_service_pb2 import GetAdsRequest
from cartads.v1.common_pb2 import Trigger
from cartads.v1.index_pb2 import IndexProduct, StoreIndex
from cartads.v1.index_sync_pb2 import StreamIndexResponse
from edge_node.app.server import EdgeServer
from tests.cart_credentials import credentialed_channel
from tests.edge_node.helpers import STORE_ID, StartEdge, creative, edge_config, line_item, make_index, version_of
from tests.edge_node.sync_fakes import ScriptedCloud, ScriptedStream, full_update

V1 = make_index([line_item("v1-a", 1_000_000)], {"all": ["v1-a"]})
V2 = make_index([line_item("v2-a", 2_000_000)], {"all": ["v2-a"]})


async def served_version(edge: EdgeServer) -> str:
    """The index version a GetAds call is answered from."""
    async with credentialed_channel(f"127.0.0.1:{edge.port}") as channel:
        response = await ad_service_pb2_grpc.AdServiceStub(channel).GetAds(
            GetAdsRequest(store_id=STORE_ID, cart_id="c", session_id="s", trigger=Trigger.TRIGGER_SESSION_START),
            timeout=5.0,
        )
    return response.index_version


async def edge_on_v1(
    scripted_cloud: tuple[ScriptedCloud, int], edges: StartEdge, tmp_path: Path, **overrides: int
) -> tuple[EdgeServer, ScriptedStream]:
    cloud, port = scripted_cloud
    edge = await edges(edge_config(tmp_path, port, **overrides))
    stream = await cloud.next_stream()
    subscription = await stream.answer()
    assert subscription.store_id == STORE_ID
    stream.send(*full_update(V1, "n1"))
    ack = await stream.answer()
    assert (ack.response_nonce, ack.version, ack.error_detail) == ("n1", V1.version, "")
    return edge, stream


def dangling_reference() -> list[StreamIndexResponse]:
    index = make_index([line_item("x", creative_ids=["cr-missing"])], {"all": ["x"]}, creatives=[creative("cr-x")])
    return full_update(index, "bad")


def corrupt_checksum() -> list[StreamIndexResponse]:
    responses = full_update(V2, "bad")
    for response in responses:
        response.chunk.sha256 = "0" * 64
    return responses


def flipped_byte() -> list[StreamIndexResponse]:
    responses = full_update(V2, "bad")
    data = bytearray(responses[0].chunk.data)
    data[5] ^= 0xFF
    responses[0].chunk.data = bytes(data)
    return responses


def truncated_chunks() -> list[StreamIndexResponse]:
    # The first chunk of a multi-chunk update, then the next update begins.
    responses = full_update(V2, "bad", chunk_bytes=64)
    assert len(responses) > 1
    return responses[:1]


def stale_nonce() -> list[StreamIndexResponse]:
    return full_update(V2, "n1")


def wrong_version() -> list[StreamIndexResponse]:
    # A whole snapshot whose own version field disagrees with the version the update announces.
    return [StreamIndexResponse(version=V1.version[::-1], nonce="bad", snapshot=V2)]


def delta_to_wrong_hash() -> list[StreamIndexResponse]:
    # A delta that really leads to V2, announced as some other version.
    return [StreamIndexResponse(version="f" * 64, nonce="bad", delta=compute_delta(V1, V2))]


def dangling_reference_in_delta() -> list[StreamIndexResponse]:
    # The delta adds a line item whose creative is in neither the delta nor the held index.
    dangling = make_index(
        [line_item("v1-a", 1_000_000), line_item("x", creative_ids=["cr-missing"])],
        {"all": ["v1-a", "x"]},
        creatives=[creative("cr-v1-a")],
    )
    return [StreamIndexResponse(version=dangling.version, nonce="bad", delta=compute_delta(V1, dangling))]


def delta_from_other_base() -> list[StreamIndexResponse]:
    other = make_index([line_item("zz")], {"all": ["zz"]})
    return [StreamIndexResponse(version=V2.version, nonce="bad", delta=compute_delta(other, V2))]


FAULTS: dict[str, tuple[Callable[[], list[StreamIndexResponse]], str]] = {
    "corrupt checksum": (corrupt_checksum, "checksum mismatch"),
    "flipped byte": (flipped_byte, "checksum mismatch"),
    "dangling reference": (dangling_reference, "names missing creative cr-missing"),
    "dangling reference in delta": (dangling_reference_in_delta, "names missing creative cr-missing"),
    "truncated chunk stream": (truncated_chunks, "truncated chunk stream"),
    "stale nonce": (stale_nonce, "stale nonce"),
    "version mismatch": (wrong_version, "differs from announced"),
    "delta to wrong hash": (delta_to_wrong_hash, "version mismatch"),
    "delta from other base": (delta_from_other_base, "delta is from version"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_bad_update_is_nacked_and_next_good_one_acked(
    fault: str, scripted_cloud: tuple[ScriptedCloud, int], edges: StartEdge, tmp_path: Path
) -> None:
    """Each kind of bad update is NACKed keeping V1 served, and the next good update is ACKed."""
    build, why = FAULTS[fault]
    edge, stream = await edge_on_v1(scripted_cloud, edges, tmp_path)
    stream.send(*build())
    stream.send(*full_update(V2, "n2"))
    nack = await stream.answer()
    assert nack.error_detail, nack
    assert why in nack.error_detail
    assert nack.version == V1.version
    assert nack.response_nonce in {"bad", "n1"}
    ack = await stream.answer()
    assert (ack.response_nonce, ack.version, ack.error_detail) == ("n2", V2.version, "")
    assert await served_version(edge) == V2.version
    assert edge.sync_client.updates_rejected == 1


async def test_nacked_update_leaves_old_index_serving(
    scripted_cloud: tuple[ScriptedCloud, int], edges: StartEdge, tmp_path: Path
) -> None:
    """Between a NACK and the next good update, GetAds is still answered from the old version."""
    edge, stream = await edge_on_v1(scripted_cloud, edges, tmp_path)
    stream.send(*corrupt_checksum())
    assert (await stream.answer()).error_detail
    assert await served_version(edge) == V1.version
    assert edge.index_version == V1.version


async def test_snapshot_too_big_for_the_map_is_nacked_before_writing(
    scripted_cloud: tuple[ScriptedCloud, int], edges: StartEdge, tmp_path: Path
) -> None:
    """An index larger than the map allows is NACKed from its first chunk; the next small one is ACKed."""
    edge, stream = await edge_on_v1(scripted_cloud, edges, tmp_path, index_map_size_bytes=1024 * 1024)
    cap = edge.config.index_cap_bytes
    huge = make_index(
        [line_item("big")],
        {"all": ["big"]},
        products=[IndexProduct(product_id=f"p{i:06d}", name="x" * 200) for i in range(cap // 200 + 10)],
    )
    assert huge.ByteSize() > cap
    stream.send(*full_update(huge, "huge", chunk_bytes=64 * 1024))
    stream.send(*full_update(V2, "n2"))
    nack = await stream.answer()
    assert nack.response_nonce == "huge"
    assert "too big for the map" in nack.error_detail
    assert nack.version == V1.version
    ack = await stream.answer()
    assert (ack.response_nonce, ack.version, ack.error_detail) == ("n2", V2.version, "")
    assert await served_version(edge) == V2.version


async def test_stream_cut_mid_update_converges_after_reconnect(
    scripted_cloud: tuple[ScriptedCloud, int], edges: StartEdge, tmp_path: Path
) -> None:
    """A stream cut after the first chunk leaves V1 serving; the edge reconnects holding V1 and takes V2."""
    cloud, _ = scripted_cloud
    edge, stream = await edge_on_v1(scripted_cloud, edges, tmp_path)
    parts = full_update(V2, "n2", chunk_bytes=64)
    stream.send(parts[0])
    stream.cut()
    again = await cloud.next_stream()
    hello = await again.answer()
    assert hello.version == V1.version
    assert edge.index_version == V1.version
    again.send(*full_update(V2, "n3"))
    ack = await again.answer()
    assert (ack.response_nonce, ack.version) == ("n3", V2.version)
    assert await served_version(edge) == V2.version


async def test_delta_is_applied_and_acked(
    scripted_cloud: tuple[ScriptedCloud, int], edges: StartEdge, tmp_path: Path
) -> None:
    """A delta from the held version is applied in place, ACKed, and survives a restart."""
    edge, stream = await edge_on_v1(scripted_cloud, edges, tmp_path)
    stream.send(StreamIndexResponse(version=V2.version, nonce="n2", delta=compute_delta(V1, V2)))
    ack = await stream.answer()
    assert (ack.version, ack.error_detail) == (V2.version, "")
    assert await served_version(edge) == V2.version
    config = edge.config
    await edge.stop(grace_s=0.1)
    restarted = await edges(config)
    assert restarted.index_version == V2.version


def test_versions_are_content_hashes() -> None:
    """The fixtures' versions are the content hashes the edge checks."""
    assert V1.version == version_of(StoreIndex.FromString(V1.SerializeToString()))
