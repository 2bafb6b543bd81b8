"""Enrolled carts reach the store's edges in its index (digests only); a revocation is a small delta."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
import pytest

from cartads import cart_credential
from cartads.v1 import admin_pb2, index_sync_pb2, index_sync_pb2_grpc
from tests.cloud_core.helpers import STORE_ID, seed
from tests.sync_helpers import SyncReader, Update

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub


@dataclass
class Subscribed:
    call: grpc.aio.StreamStreamCall[index_sync_pb2.StreamIndexRequest, index_sync_pb2.StreamIndexResponse]
    reader: SyncReader

    async def ack(self, update: Update) -> None:
        await self.call.write(index_sync_pb2.StreamIndexRequest(version=update.version, response_nonce=update.nonce))


@pytest.fixture
async def seeded(admin: AdminServiceAsyncStub) -> AdminServiceAsyncStub:
    """The admin stub, with store s1 seeded."""
    await seed(admin)
    return admin


@pytest.fixture
async def edge(seeded: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel) -> AsyncIterator[Subscribed]:
    """An index stream of store s1, as an edge opens it."""
    call = index_sync_pb2_grpc.IndexSyncServiceStub(edge_channel).StreamIndex(None)
    await call.write(index_sync_pb2.StreamIndexRequest(store_id=STORE_ID, edge_id="edge-1"))
    yield Subscribed(call, SyncReader(call))
    call.cancel()


async def enrol(admin: AdminServiceAsyncStub, cart_id: str) -> admin_pb2.CreateCartResponse:
    return await admin.CreateCart(admin_pb2.CreateCartRequest(cart=admin_pb2.Cart(store_id=STORE_ID, cart_id=cart_id)))


async def next_with(edge: Subscribed, credential_id: str, *, present: bool, timeout_s: float = 5.0) -> Update:
    """The first update whose carts hold (or, ``present=False``, lack) ``credential_id``, acknowledged."""
    async with asyncio.timeout(timeout_s):
        while True:
            update = await edge.reader.next(timeout_s)
            await edge.ack(update)
            if (credential_id in {c.credential_id for c in update.index.carts}) == present:
                return update


async def test_an_enrolled_cart_reaches_the_edge_as_a_digest_only(
    seeded: AdminServiceAsyncStub, edge: Subscribed
) -> None:
    """After enrolment the edge's index names the cart with its secret's digest; the secret is nowhere in it."""
    enrolled = await enrol(seeded, "cart-1")
    parsed = cart_credential.parse(enrolled.credential)
    update = await next_with(edge, parsed.credential_id, present=True)
    (entry,) = [c for c in update.index.carts if c.credential_id == parsed.credential_id]
    assert entry.cart_id == "cart-1"
    assert cart_credential.matches(parsed.secret, entry.secret_sha256)
    wire = update.index.SerializeToString()
    assert parsed.secret not in wire
    assert base64.urlsafe_b64encode(parsed.secret).rstrip(b"=") not in wire


async def test_a_revoked_cart_leaves_the_next_index_as_a_delta(seeded: AdminServiceAsyncStub, edge: Subscribed) -> None:
    """The update after RevokeCart is a delta without the cart's credential; the other cart stays."""
    kept = cart_credential.parse((await enrol(seeded, "cart-kept")).credential).credential_id
    gone = cart_credential.parse((await enrol(seeded, "cart-gone")).credential).credential_id
    await next_with(edge, gone, present=True)
    await seeded.RevokeCart(admin_pb2.RevokeCartRequest(store_id=STORE_ID, cart_id="cart-gone"))
    update = await next_with(edge, gone, present=False)
    assert update.kind == "delta"
    assert [c.credential_id for c in update.index.carts] == [kept]
