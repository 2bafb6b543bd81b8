"""Replicas on one PostgreSQL database share the compile work and watch each other's heartbeats."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2, admin_pb2_grpc, index_sync_pb2
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer, start_cloud
from cloud_core.config import CloudConfig
from tests.cloud_core.helpers import STORE_ID, line_item, seed
from tests.cloud_replicas import Call, create_token, replica
from tests.eventually import eventually
from tests.storage_engines import fresh_pg_dsn
from tests.sync_helpers import SyncReader, Update

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

pytestmark = pytest.mark.postgres


async def _subscribe(channel: grpc.aio.Channel, edge_id: str) -> tuple[Call, SyncReader]:
    from cartads.v1 import index_sync_pb2_grpc

    call: Call = index_sync_pb2_grpc.IndexSyncServiceStub(channel).StreamIndex(None)
    await call.write(index_sync_pb2.StreamIndexRequest(store_id=STORE_ID, edge_id=edge_id))
    return call, SyncReader(call)


async def _ack(call: Call, update: Update) -> None:
    await call.write(index_sync_pb2.StreamIndexRequest(version=update.version, response_nonce=update.nonce))


@dataclass
class TwoServers:
    a: CloudServer
    b: CloudServer
    admin: AdminServiceAsyncStub
    edge_a: grpc.aio.Channel
    edge_b: grpc.aio.Channel

    @property
    def compiles(self) -> int:
        return sum(s.index_sync.shared.compiled for s in (self.a, self.b) if s.index_sync is not None)


@pytest.fixture
async def two_servers() -> AsyncIterator[TwoServers]:
    """Cloud servers A and B (in this process) on one fresh PostgreSQL database, store s1 seeded."""
    with fresh_pg_dsn() as dsn:
        async with AsyncExitStack() as stack:
            servers = []
            for name in ("replica-a", "replica-b"):
                config = CloudConfig(db=dsn, listen_address="127.0.0.1:0", replica_id=name, push_delay_s=0.02)
                server = await start_cloud(config)
                stack.push_async_callback(server.stop, 0.2)
                servers.append(server)
            a, b = servers
            admin_channel = aio_channel(f"127.0.0.1:{a.port}", await a.mint_token(Role.ADMIN))
            stack.push_async_callback(admin_channel.close, None)
            admin = admin_pb2_grpc.AdminServiceStub(admin_channel)
            await seed(admin)
            await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
            # The seeding's changes are counted in the database (A records them after their commits):
            # a compile racing that record would be rightly taken as stale and made again.
            await a.notifier.flush()
            token = await a.mint_token(Role.EDGE, store_id=STORE_ID)
            edge_a, edge_b = aio_channel(f"127.0.0.1:{a.port}", token), aio_channel(f"127.0.0.1:{b.port}", token)
            for channel in (edge_a, edge_b):
                stack.push_async_callback(channel.close, None)
            yield TwoServers(a, b, admin, edge_a, edge_b)


async def test_a_store_is_compiled_once_for_edges_on_both_replicas(two_servers: TwoServers) -> None:
    """Edges of one store on A and on B get the same version, compiled once between the replicas, at
    connect and again after a change."""
    (call_a, reader_a), (call_b, reader_b) = await asyncio.gather(
        _subscribe(two_servers.edge_a, "edge-a"), _subscribe(two_servers.edge_b, "edge-b")
    )
    first_a, first_b = await asyncio.gather(reader_a.next(30), reader_b.next(30))
    assert first_a.version == first_b.version
    assert two_servers.compiles == 1
    await asyncio.gather(_ack(call_a, first_a), _ack(call_b, first_b))
    await two_servers.admin.UpdateLineItem(
        admin_pb2.UpdateLineItemRequest(
            line_item=admin_pb2.LineItem(line_item_id="li1", bid_micros=777_000),
            update_mask=FieldMask(paths=["bid_micros"]),
        )
    )
    second_a, second_b = await asyncio.gather(reader_a.next(10), reader_b.next(10))
    call_a.cancel()
    call_b.cancel()
    assert second_a.version == second_b.version != first_a.version
    assert [li.bid_micros for li in second_b.index.line_items] == [777_000]
    assert two_servers.compiles == 2


async def test_a_replica_started_later_serves_without_compiling(two_servers: TwoServers) -> None:
    """A store compiled by A is served by B from the database: B compiles nothing."""
    call_a, reader_a = await _subscribe(two_servers.edge_a, "edge-a")
    on_a = await reader_a.next(30)
    call_b, reader_b = await _subscribe(two_servers.edge_b, "edge-b")
    on_b = await reader_b.next(30)
    call_a.cancel()
    call_b.cancel()
    assert on_a.version == on_b.version
    assert two_servers.b.index_sync is not None
    assert two_servers.b.index_sync.shared.compiled == 0


async def _connected(admin: AdminServiceAsyncStub) -> dict[str, bool]:
    listed = await admin.ListEdges(admin_pb2.ListEdgesRequest(store_id=STORE_ID))
    return {e.edge_id: e.connected for e in listed.edges}


async def test_edges_of_a_killed_replica_are_shown_disconnected_within_30_s() -> None:
    """Two `cartads-cloud` processes with default heartbeat settings: after kill -9 of A, ListEdges
    through B shows A's edge disconnected within 30 s, and B's own edge still connected."""
    with fresh_pg_dsn() as dsn:
        async with AsyncExitStack() as stack:
            a, b = await asyncio.gather(
                stack.enter_async_context(replica(dsn, "replica-a")),
                stack.enter_async_context(replica(dsn, "replica-b")),
            )
            admin_channel = aio_channel(b.address, await create_token(dsn, Role.ADMIN))
            stack.push_async_callback(admin_channel.close, None)
            admin = admin_pb2_grpc.AdminServiceStub(admin_channel)
            await seed(admin)
            token = await create_token(dsn, Role.EDGE, STORE_ID)
            edge_a, edge_b = aio_channel(a.address, token), aio_channel(b.address, token)
            for channel in (edge_a, edge_b):
                stack.push_async_callback(channel.close, None)
            call_a, reader_a = await _subscribe(edge_a, "edge-on-a")
            call_b, reader_b = await _subscribe(edge_b, "edge-on-b")
            await asyncio.gather(reader_a.next(30), reader_b.next(30))
            assert await _connected(admin) == {"edge-on-a": True, "edge-on-b": True}
            a.process.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            await a.process.wait()
            await eventually(lambda: _shown_disconnected(admin), timeout_s=30, interval_s=0.5)
            elapsed = time.monotonic() - killed
            call_a.cancel()
            assert await _connected(admin) == {"edge-on-a": False, "edge-on-b": True}
            call_b.cancel()
    assert elapsed < 30


async def _shown_disconnected(admin: AdminServiceAsyncStub) -> bool:
    return not (await _connected(admin))["edge-on-a"]
