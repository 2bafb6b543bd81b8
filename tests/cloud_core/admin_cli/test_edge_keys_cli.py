"""``cartads-admin edges``: keys and flags listed, a key revoked, a flag cleared."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest

from cartads.v1 import index_sync_pb2, index_sync_pb2_grpc
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import STORE_ID, ad_event, run_admin_cli_as_admin, seed, upload

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub
    from cartads.v1.event_ingest_pb2_grpc import EventIngestServiceAsyncStub

KEY_ID = "00aa11bb22cc33dd"


async def test_edges_list_shows_keys_and_flags_and_revoke_key_revokes(
    admin: AdminServiceAsyncStub,
    ingest: EventIngestServiceAsyncStub,
    edge_channel: grpc.aio.Channel,
    cloud_server: CloudServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """After a forged upload the edge is listed FLAGGED with its key; revoke-key and clear-flag act on it."""
    await seed(admin)
    call = index_sync_pb2_grpc.IndexSyncServiceStub(edge_channel).StreamIndex(None)
    key = index_sync_pb2.EdgeSigningKey(key_id=KEY_ID, key=b"k" * 32)
    await call.write(index_sync_pb2.StreamIndexRequest(store_id=STORE_ID, edge_id="edge-1", signing_key=key))
    await call.initial_metadata()
    call.cancel()
    forged = ad_event(b"f" * 32, event_id="f1", seq=1)
    await ingest.UploadEvents(upload(forged))

    capsys.readouterr()
    assert await run_admin_cli_as_admin(cloud_server, "edges", "list") == 0
    listed = capsys.readouterr().out
    assert "FLAGGED TOKEN_SIGNATURE x1" in listed
    assert KEY_ID in listed
    assert await run_admin_cli_as_admin(cloud_server, "edges", "revoke-key", KEY_ID) == 0
    assert f"revoked key {KEY_ID} of edge edge-1" in capsys.readouterr().out
    assert (
        await run_admin_cli_as_admin(cloud_server, "edges", "clear-flag", "--store", STORE_ID, "--edge", "edge-1") == 0
    )
    capsys.readouterr()
    assert await run_admin_cli_as_admin(cloud_server, "edges", "list") == 0
    after = capsys.readouterr().out
    assert f"{KEY_ID} (revoked)" in after
    assert "cleared x1" in after


async def test_dead_letters_filter_by_edge_and_reason(
    admin: AdminServiceAsyncStub,
    ingest: EventIngestServiceAsyncStub,
    cloud_server: CloudServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """dead-letters list --edge/--reason shows only the matching refusals; an unknown reason is a usage error."""
    await seed(admin)
    await ingest.UploadEvents(upload(ad_event(b"f" * 32, event_id="f1", seq=1)))
    capsys.readouterr()
    args = ("dead-letters", "list", "--store", STORE_ID)
    assert await run_admin_cli_as_admin(cloud_server, *args, "--reason", "token_signature", "--edge", "edge-1") == 0
    assert "f1" in capsys.readouterr().out
    assert await run_admin_cli_as_admin(cloud_server, *args, "--reason", "price_above_terms") == 0
    assert "f1" not in capsys.readouterr().out
    assert await run_admin_cli_as_admin(cloud_server, *args, "--reason", "nonsense") == 2
