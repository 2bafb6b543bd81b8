"""Index distribution between a real cloud and a real edge: deltas, edge status, restarts, offline edges."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2, index_sync_pb2, index_sync_pb2_grpc
from cloud_core.admin_cli import main as admin_cli
from cloud_core.app.server import start_cloud
from cloud_core.config import CloudConfig
from edge_node.app.server import start_edge
from tests.eventually import describe, eventually
from tests.integration.whole_loop import STORE_ID, Loop
from tests.sync_helpers import SyncReader


async def change_a_bid(loop: Loop, bump_micros: int = 1_000) -> None:
    """One admin change to one line item of the store."""
    items = await loop.admin.ListLineItems(admin_pb2.ListLineItemsRequest(page_size=1))
    item = items.line_items[0]
    item.bid_micros += bump_micros
    await loop.admin.UpdateLineItem(
        admin_pb2.UpdateLineItemRequest(line_item=item, update_mask=FieldMask(paths=["bid_micros"]))
    )


async def cloud_version(loop: Loop) -> str:
    """The store's current index version, as the cloud would push it now."""
    edges = await list_edges(loop)
    return edges[0].current_version if edges else ""


async def list_edges(loop: Loop) -> list[admin_pb2.EdgeStatus]:
    async with aio_channel(f"127.0.0.1:{loop.cloud.port}", loop.admin_token) as channel:
        from cartads.v1.admin_pb2_grpc import AdminServiceStub

        response = await AdminServiceStub(channel).ListEdges(admin_pb2.ListEdgesRequest(store_id=STORE_ID))
    return list(response.edges)


async def wait_for_edge(
    loop: Loop, predicate: Callable[[admin_pb2.EdgeStatus], bool], timeout_s: float = 5.0
) -> admin_pb2.EdgeStatus:
    """The only edge's status once ListEdges shows it matching ``predicate`` (ListEdges has no watch)."""

    async def matching() -> admin_pb2.EdgeStatus | None:
        edges = await list_edges(loop)
        return edges[0] if edges and predicate(edges[0]) else None

    return await eventually(matching, timeout_s=timeout_s, interval_s=0.02, what=f"an edge with {describe(predicate)}")


@pytest.mark.latency
async def test_change_reaches_edge_as_delta_within_a_second(loop: Loop) -> None:
    """An admin change is pushed as a delta, applied and ACKed in under a second; ListEdges shows it."""
    before = loop.edge.index_version
    applied_before = loop.edge.sync_client.deltas_applied
    started = time.perf_counter()
    await change_a_bid(loop)
    # The new version is unknown until the cloud compiles it, and the edge announces no change: poll it.
    await eventually(lambda: loop.edge.index_version != before, interval_s=0.005, what="a new version served")
    assert time.perf_counter() - started < 1.0
    assert loop.edge.sync_client.deltas_applied == applied_before + 1
    status = await wait_for_edge(loop, lambda e: e.applied_version == loop.edge.index_version)
    assert status.connected
    assert status.last_answer == "ACK"
    assert status.current_version == status.applied_version
    assert status.HasField("last_ack_time")
    assert status.HasField("last_seen_time")


async def test_edge_offline_through_three_changes_converges(loop: Loop) -> None:
    """An edge stopped while three changes are made catches up to the cloud's version after it restarts."""
    held = loop.edge.index_version
    await loop.edge.stop(grace_s=0.2)
    await wait_for_edge(loop, lambda e: not e.connected)
    for bump in (1_000, 2_000, 3_000):
        await change_a_bid(loop, bump)
    edge = await start_edge(loop.edge_config)
    try:
        status = await wait_for_edge(loop, lambda e: e.connected and e.applied_version == e.current_version != held)
        await edge.wait_for_index(status.current_version, timeout_s=5.0)
        assert edge.index_version == status.current_version
        # The cloud still held the old version, so the catch-up was one delta over the three changes.
        assert edge.sync_client.deltas_applied == 1
    finally:
        await edge.stop(grace_s=0.2)


async def test_cloud_restarted_mid_push_converges(loop: Loop, tmp_path: Path) -> None:
    """A cloud stopped right after a change and restarted on its port leaves the edge on its current version."""
    port = loop.cloud.port
    held = loop.edge.index_version
    await change_a_bid(loop)
    await loop.cloud.stop(grace_s=0)
    cloud = await start_cloud(
        CloudConfig(db=str(tmp_path / "cloud.sqlite3"), listen_address=f"127.0.0.1:{port}", push_delay_s=0.02)
    )
    loop.cloud = cloud
    try:
        await change_a_bid(loop, 5_000)
        status = await wait_for_edge(
            loop, lambda e: e.connected and e.applied_version == e.current_version not in ("", held)
        )
        assert loop.edge.index_version == status.current_version
    finally:
        await cloud.stop(grace_s=0.2)


async def test_nacked_delta_is_followed_by_a_full_snapshot(loop: Loop) -> None:
    """When an edge NACKs a delta, the cloud sends the same version again as a full snapshot."""
    async with aio_channel(f"127.0.0.1:{loop.cloud.port}", loop.edge_token) as channel:
        call = index_sync_pb2_grpc.IndexSyncServiceStub(channel).StreamIndex(None)
        await call.write(index_sync_pb2.StreamIndexRequest(store_id=STORE_ID, edge_id="probe"))
        reader = SyncReader(call)
        first = await reader.next()
        await call.write(index_sync_pb2.StreamIndexRequest(version=first.version, response_nonce=first.nonce))
        await change_a_bid(loop)
        delta = await reader.next()
        assert delta.kind == "delta"
        await call.write(
            index_sync_pb2.StreamIndexRequest(
                version=first.version, response_nonce=delta.nonce, error_detail="could not apply"
            )
        )
        reader.index = first.index
        again = await reader.next()
        assert again.kind == "full"
        assert again.version == delta.version
        assert again.nonce != delta.nonce
        call.cancel()


async def test_answer_with_stale_nonce_is_ignored(loop: Loop) -> None:
    """An answer naming a nonce the cloud is not waiting for changes nothing in the edge's status."""
    async with aio_channel(f"127.0.0.1:{loop.cloud.port}", loop.edge_token) as channel:
        call = index_sync_pb2_grpc.IndexSyncServiceStub(channel).StreamIndex(None)
        await call.write(index_sync_pb2.StreamIndexRequest(store_id=STORE_ID, edge_id="probe"))
        first = await SyncReader(call).next()
        await call.write(
            index_sync_pb2.StreamIndexRequest(version="bogus", response_nonce="not-a-nonce", error_detail="x")
        )
        await call.write(index_sync_pb2.StreamIndexRequest(version=first.version, response_nonce=first.nonce))

        async def probe_acked() -> admin_pb2.EdgeStatus | None:
            probe = next(e for e in await list_edges(loop) if e.edge_id == "probe")
            return probe if probe.last_answer == "ACK" else None

        probe = await eventually(probe_acked, interval_s=0.02)
        assert probe.applied_version == first.version
        assert probe.last_error == ""
        call.cancel()


async def test_admin_cli_lists_edges(loop: Loop, capsys: object) -> None:
    """`cartads-admin edges list --json` prints the edge with its applied version and connection."""
    await wait_for_edge(loop, lambda e: e.last_answer == "ACK")
    code = await asyncio.to_thread(
        admin_cli.main,
        ["--cloud", f"127.0.0.1:{loop.cloud.port}", "--token", loop.admin_token, "--json", "edges", "list"],
    )
    assert code == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    # Log lines share stdout with the command's output: the JSON array starts at the first "[\n".
    rows = json.loads(out[out.index("[\n") :])
    assert rows[0]["edge_id"] == "edge-1"
    assert rows[0]["connected"] is True
    assert rows[0]["applied_version"] == loop.edge.index_version


async def test_edge_exports_sync_metrics(loop: Loop, tmp_path: Path) -> None:
    """The edge's /metrics shows the version it serves, that it is connected, and 0 s since sync."""
    await loop.edge.stop(grace_s=0.2)
    config = dataclasses.replace(loop.edge_config, ops_listen_address="127.0.0.1:0")
    edge = await start_edge(config)
    try:
        await edge.sync_client.state.wait_connected(timeout_s=5.0)
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{edge.ops_port}/metrics") as r:
            text = await r.text()
        assert f'cartads_edge_index_version_info{{version="{edge.index_version}"}} 1.0' in text
        assert "cartads_edge_index_connected 1.0" in text
        assert "cartads_edge_index_seconds_since_sync 0.0" in text
    finally:
        await edge.stop(grace_s=0.2)
