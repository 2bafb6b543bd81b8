"""IndexSyncService.StreamIndex over a real grpc.aio cloud."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import grpc
import pytest
from structlog.testing import capture_logs

from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2, index_sync_pb2, index_sync_pb2_grpc
from cloud_core.access.policy import Role
from cloud_core.admin.pagination import PageRequest
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import STORE_ID, line_item, seed
from tests.eventually import describe, eventually
from tests.sync_helpers import SyncReader, Update

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

Call = grpc.aio.StreamStreamCall[index_sync_pb2.StreamIndexRequest, index_sync_pb2.StreamIndexResponse]


async def subscribe(channel: grpc.aio.Channel, version: str = "", store_id: str = STORE_ID) -> Call:
    call: Call = index_sync_pb2_grpc.IndexSyncServiceStub(channel).StreamIndex(None)
    await call.write(index_sync_pb2.StreamIndexRequest(store_id=store_id, edge_id="edge-1", version=version))
    return call


_readers: dict[int, SyncReader] = {}


async def next_update(call: Call, timeout_s: float = 5.0) -> Update:
    """The next whole update on ``call``, verified and applied like an edge does."""
    reader = _readers.get(id(call))
    if reader is None or reader.call is not call:
        reader = _readers[id(call)] = SyncReader(call)
    return await reader.next(timeout_s)


async def wait_for_status(
    cloud_server: CloudServer, predicate: Callable[[admin_pb2.EdgeStatus], bool]
) -> admin_pb2.EdgeStatus:
    """The edge's status once the cloud has recorded what the stream sent (the table has no watch)."""

    async def matching() -> admin_pb2.EdgeStatus | None:
        statuses = await cloud_server.store.edges.list_edges(STORE_ID, PageRequest("", 10))
        return statuses[0] if statuses and predicate(statuses[0]) else None

    return await eventually(matching, what=f"an edge with {describe(predicate)}")


async def test_connect_gets_snapshot(admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel) -> None:
    """A new edge gets a full snapshot whose version and nonce are set."""
    await seed(admin)
    call = await subscribe(edge_channel)
    update = await next_update(call)
    assert update.version == update.index.version
    assert len(update.version) == 64
    assert update.nonce
    assert update.index.store_id == STORE_ID
    assert len(update.index.products) == 3
    call.cancel()


@pytest.mark.latency
async def test_change_pushes_within_a_second(admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel) -> None:
    """Creating a line item pushes a new snapshot holding it in under a second."""
    await seed(admin)
    call = await subscribe(edge_channel)
    first = await next_update(call)
    assert not first.index.line_items
    await call.write(index_sync_pb2.StreamIndexRequest(version=first.version, response_nonce=first.nonce))
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
    second = await next_update(call, timeout_s=1.0)
    assert [li.line_item_id for li in second.index.line_items] == ["li1"]
    assert second.version != first.version
    assert second.nonce != first.nonce
    call.cancel()


async def test_unchanged_version_is_not_resent(admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel) -> None:
    """An edge already holding the current version gets nothing until the index changes."""
    await seed(admin)
    probe = await subscribe(edge_channel)
    held = await next_update(probe)
    probe.cancel()
    call = await subscribe(edge_channel, version=held.version)
    reader = SyncReader(call)
    reader.index = held.index
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
    update = await reader.next()
    # Had the held version been resent, it would have arrived first.
    assert update.version != held.version
    call.cancel()


async def test_ack_and_nack_are_recorded(
    admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel, cloud_server: CloudServer
) -> None:
    """The edge's ACK sets its applied version; a NACK records the error."""
    await seed(admin)
    call = await subscribe(edge_channel)
    update = await next_update(call)
    await call.write(index_sync_pb2.StreamIndexRequest(version=update.version, response_nonce=update.nonce))
    acked = await wait_for_status(cloud_server, lambda s: s.applied_version == update.version)
    assert acked.last_answer == "ACK"
    assert acked.last_nonce == update.nonce
    assert acked.connected
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
    second = await next_update(call)
    await call.write(
        index_sync_pb2.StreamIndexRequest(
            version=update.version, response_nonce=second.nonce, error_detail="bad checksum"
        )
    )
    nacked = await wait_for_status(cloud_server, lambda s: s.last_error == "bad checksum")
    assert nacked.last_answer == "NACK"
    assert nacked.applied_version == update.version
    assert nacked.last_nack_version == second.version
    assert nacked.current_version == second.version
    call.cancel()


async def test_unknown_store_is_not_found(cloud_server: CloudServer) -> None:
    """Subscribing to a store that does not exist (with that store's edge token) ends with NOT_FOUND."""
    token = await cloud_server.mint_token(Role.EDGE, store_id="nowhere")
    async with aio_channel(f"127.0.0.1:{cloud_server.port}", token) as channel:
        call = await subscribe(channel, store_id="nowhere")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await next_update(call)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_missing_edge_id_is_invalid(edge_channel: grpc.aio.Channel) -> None:
    """A subscription without edge_id ends with INVALID_ARGUMENT."""
    call: Call = index_sync_pb2_grpc.IndexSyncServiceStub(edge_channel).StreamIndex(None)
    await call.write(index_sync_pb2.StreamIndexRequest(store_id=STORE_ID))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await next_update(call)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_half_closed_edge_still_gets_pushes(admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel) -> None:
    """An edge that stops sending after subscribing still receives later updates."""
    await seed(admin)
    call = await subscribe(edge_channel)
    await next_update(call)
    await call.done_writing()
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
    # A stream that stopped watching would still refresh, but only after CloudConfig.index_refresh_s (60 s).
    update = await next_update(call)
    assert [li.line_item_id for li in update.index.line_items] == ["li1"]
    call.cancel()


async def test_list_edges_pages_and_filters(admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel) -> None:
    """ListEdges pages through every edge in (store, edge) order and filters by store."""
    await seed(admin)
    calls = []
    for edge_id in ("edge-a", "edge-b", "edge-c"):
        call: Call = index_sync_pb2_grpc.IndexSyncServiceStub(edge_channel).StreamIndex(None)
        await call.write(index_sync_pb2.StreamIndexRequest(store_id=STORE_ID, edge_id=edge_id))
        await next_update(call)
        calls.append(call)
    first = await admin.ListEdges(admin_pb2.ListEdgesRequest(page_size=2))
    assert [e.edge_id for e in first.edges] == ["edge-a", "edge-b"]
    rest = await admin.ListEdges(admin_pb2.ListEdgesRequest(page_size=2, page_token=first.next_page_token))
    assert [e.edge_id for e in rest.edges] == ["edge-c"]
    assert not rest.next_page_token
    other = await admin.ListEdges(admin_pb2.ListEdgesRequest(store_id="elsewhere"))
    assert not other.edges
    for call in calls:
        call.cancel()


async def test_list_edges_rejects_bad_store_id(admin: AdminServiceAsyncStub) -> None:
    """A malformed store_id filter is INVALID_ARGUMENT naming store_id."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.ListEdges(admin_pb2.ListEdgesRequest(store_id="bad id!"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "store_id" in (err.value.details() or "")


async def test_closed_stream_marks_edge_disconnected(
    admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel, cloud_server: CloudServer
) -> None:
    """When an edge's stream ends, ListEdges shows it disconnected."""
    await seed(admin)
    call = await subscribe(edge_channel)
    await next_update(call)
    await wait_for_status(cloud_server, lambda s: s.connected)
    call.cancel()
    status = await wait_for_status(cloud_server, lambda s: not s.connected)
    assert status.edge_id == "edge-1"


async def test_a_cancelled_stream_is_logged_once_with_its_reason(
    admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel, cloud_server: CloudServer
) -> None:
    """An edge's cancelled stream gives one index_stream_end line naming the edge and why it ended."""
    await seed(admin)
    with capture_logs() as logs:
        call = await subscribe(edge_channel)
        await next_update(call)
        call.cancel()
        await wait_for_status(cloud_server, lambda s: not s.connected)
    [end] = [line for line in logs if line["event"] == "index_stream_end"]
    assert (end["store_id"], end["edge_id"]) == (STORE_ID, "edge-1")
    assert end["reason"].startswith("cancelled")
    assert end["open_s"] >= 0
