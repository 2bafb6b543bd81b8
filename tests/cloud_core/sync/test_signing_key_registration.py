"""An edge registers its tracking token key on its index stream; nobody takes over another's key id."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest

from cartads.v1 import admin_pb2, index_sync_pb2, index_sync_pb2_grpc
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import STORE_ID, line_item, seed, violations_of
from tests.sync_helpers import SyncReader

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

KEY_ID = "0123456789abcdef"


async def subscribe(
    edge_channel: grpc.aio.Channel, edge_id: str, key_id: str = KEY_ID, key: bytes = b"k" * 32
) -> grpc.aio.StreamStreamCall:  # type: ignore[type-arg]
    call = index_sync_pb2_grpc.IndexSyncServiceStub(edge_channel).StreamIndex(None)
    signing_key = index_sync_pb2.EdgeSigningKey(key_id=key_id, key=key)
    await call.write(index_sync_pb2.StreamIndexRequest(store_id=STORE_ID, edge_id=edge_id, signing_key=signing_key))
    return call


async def test_a_registered_key_is_confirmed_and_listed(
    admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel
) -> None:
    """The stream confirms the key id in its headers; ListEdges shows it, with who registered it."""
    await seed(admin)
    call = await subscribe(edge_channel, "edge-1")
    try:
        headers = dict(await call.initial_metadata())
        await SyncReader(call).next()
    finally:
        call.cancel()
    assert headers["x-cartads-signing-key-id"] == KEY_ID
    (edge,) = (await admin.ListEdges(admin_pb2.ListEdgesRequest(store_id=STORE_ID))).edges
    (key,) = edge.signing_keys
    assert (key.key_id, key.edge_id, key.store_id) == (KEY_ID, "edge-1", STORE_ID)
    assert key.registered_by not in ("", "none")


async def test_another_edge_cannot_take_over_a_key_id(
    admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel
) -> None:
    """A second edge naming a registered key id (with its own bytes) is ALREADY_EXISTS."""
    await seed(admin)
    first = await subscribe(edge_channel, "edge-1")
    await first.initial_metadata()
    first.cancel()
    second = await subscribe(edge_channel, "edge-2", key=b"x" * 32)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await second.read()
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize(("key_id", "key"), [("XYZ", b"k" * 32), (KEY_ID, b"short")], ids=["key_id", "key"])
async def test_a_malformed_key_is_invalid_argument(
    admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel, key_id: str, key: bytes
) -> None:
    """A key id that is not 16 hex characters, or a key that is not 32 bytes, names its field."""
    await seed(admin)
    call = await subscribe(edge_channel, "edge-1", key_id=key_id, key=key)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call.read()
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations_of(err.value)) == {f"signing_key.{'key_id' if key_id != KEY_ID else 'key'}"}


async def test_a_revoked_key_is_refused_with_its_reason(
    admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel
) -> None:
    """Reconnecting with a revoked key ends the stream FAILED_PRECONDITION, SIGNING_KEY_REVOKED."""
    await seed(admin)
    first = await subscribe(edge_channel, "edge-1")
    await first.initial_metadata()
    first.cancel()
    await admin.RevokeEdgeSigningKey(admin_pb2.RevokeEdgeSigningKeyRequest(key_id=KEY_ID))
    again = await subscribe(edge_channel, "edge-1")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await again.read()
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "SIGNING_KEY_REVOKED" in (err.value.details() or "")


async def test_a_version_is_on_record_before_the_edge_receives_it(
    admin: AdminServiceAsyncStub, edge_channel: grpc.aio.Channel, cloud_server: CloudServer
) -> None:
    """By the time an update reaches the edge, the cloud has recorded it as sent with its terms."""
    await seed(admin)
    await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=line_item()))
    call = await subscribe(edge_channel, "edge-1")
    try:
        update = await SyncReader(call).next()
    finally:
        call.cancel()
    records = await cloud_server.store.terms.charge_records(STORE_ID, [], [update.version])
    assert set(records.sent_us) == {update.version}
    terms = records.terms[update.version].line_items["li1"]
    assert (terms.campaign_id, terms.advertiser_id, terms.max_price_micros, set(terms.creative_ids)) == (
        "c1",
        "acme",
        5_000_000,
        {"cr1"},
    )
