"""A cart revoked through one `cartads-cloud` replica leaves the index an edge streams from another one
within 2 s: on SQLite (the replicas poll the change counters) and on PostgreSQL (NOTIFY)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from cartads import cart_credential
from cartads.rpc.bearer import aio_channel
from cartads.time_units import now_us
from cartads.v1 import admin_pb2, admin_pb2_grpc, index_sync_pb2
from cloud_core.access.policy import Role
from cloud_core.storage.carts import SqlCarts
from cloud_core.storage.cloud_store import SqlCloudStore
from tests.cloud_core.helpers import STORE_ID, seed
from tests.cloud_replicas import Call, create_token, replica, subscribe
from tests.sync_helpers import SyncReader, Update

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub


@dataclass
class Deployment:
    db_url: str
    admin_b: AdminServiceAsyncStub
    # The index stream an edge holds on replica A, past its first update (acknowledged).
    call: Call
    reader: SyncReader
    # cart id -> credential id
    ids: dict[str, str]

    async def until(self, done: Callable[[set[str]], bool]) -> Update:
        """The first update (each acknowledged) whose credential ids satisfy ``done``."""
        while True:
            update = await self.reader.next()
            await self.call.write(
                index_sync_pb2.StreamIndexRequest(version=update.version, response_nonce=update.nonce)
            )
            if done({c.credential_id for c in update.index.carts}):
                return update


@pytest.fixture
async def deployment(db_url: str) -> AsyncIterator[Deployment]:
    """Replicas A and B on one database; carts cart-kept and cart-gone enrolled through B; an edge on A."""
    async with AsyncExitStack() as stack:
        a, b = await asyncio.gather(
            stack.enter_async_context(replica(db_url, "replica-a")),
            stack.enter_async_context(replica(db_url, "replica-b")),
        )
        admin_channel = aio_channel(b.address, await create_token(db_url, Role.ADMIN))
        stack.push_async_callback(admin_channel.close, None)
        admin_b = admin_pb2_grpc.AdminServiceStub(admin_channel)
        await seed(admin_b)
        ids = {}
        for cart_id in ("cart-kept", "cart-gone"):
            cart = admin_pb2.Cart(store_id=STORE_ID, cart_id=cart_id)
            enrolled = await admin_b.CreateCart(admin_pb2.CreateCartRequest(cart=cart))
            ids[cart_id] = cart_credential.parse(enrolled.credential).credential_id
        edge_a = aio_channel(a.address, await create_token(db_url, Role.EDGE, STORE_ID))
        stack.push_async_callback(edge_a.close, None)
        call, reader = await subscribe(edge_a)
        deployment = Deployment(db_url, admin_b, call, reader, ids)
        async with asyncio.timeout(30):
            await deployment.until(lambda held: held == set(ids.values()))
        yield deployment
        call.cancel()


async def in_database_only(db_url: str, write: Callable[[SqlCarts], Awaitable[object]]) -> None:
    """A cart write by a process that tells no replica (as one stopping right after its commit)."""
    store = await SqlCloudStore.open(db_url)
    try:
        await write(store.carts)
    finally:
        await store.close()


@pytest.mark.latency
async def test_revocation_through_one_replica_reaches_an_edge_on_the_other(deployment: Deployment) -> None:
    """Revoked through B's AdminService: the index A pushes its edge lacks the cart within 2 s."""
    gone = deployment.ids["cart-gone"]
    async with asyncio.timeout(2.0):
        await deployment.admin_b.RevokeCart(admin_pb2.RevokeCartRequest(store_id=STORE_ID, cart_id="cart-gone"))
        update = await deployment.until(lambda held: gone not in held)
    assert [c.credential_id for c in update.index.carts] == [deployment.ids["cart-kept"]]


@pytest.mark.latency
async def test_a_revocation_no_replica_was_told_of_still_reaches_the_edge(deployment: Deployment) -> None:
    """Committed by a process that told no replica, a revocation still reaches A's edge within 2 s: the
    revoking transaction counted the change itself."""
    _, credential = cart_credential.new_credential(STORE_ID, secrets.token_bytes)
    marker = admin_pb2.Cart(store_id=STORE_ID, cart_id="cart-marker")
    digest = cart_credential.secret_digest(credential.secret)
    # Once A pushes the marker cart, A has caught up with every earlier change: nothing else is pending.
    await in_database_only(
        deployment.db_url, lambda carts: carts.create_cart(marker, credential.credential_id, digest, now_us())
    )
    async with asyncio.timeout(10):
        await deployment.until(lambda held: credential.credential_id in held)
    gone = deployment.ids["cart-gone"]
    async with asyncio.timeout(2.0):
        await in_database_only(deployment.db_url, lambda carts: carts.revoke_cart(STORE_ID, "cart-gone", now_us()))
        update = await deployment.until(lambda held: gone not in held)
    assert gone not in {c.credential_id for c in update.index.carts}
    assert deployment.ids["cart-kept"] in {c.credential_id for c in update.index.carts}
