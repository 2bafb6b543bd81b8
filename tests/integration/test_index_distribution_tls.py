"""Mutual TLS between edge and cloud, and each edge bound to its store by its certificate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from cartads.rpc.bearer import aio_channel
from cartads.rpc.tls import TlsFiles, channel_credentials
from cartads.v1 import admin_pb2, event_ingest_pb2, event_ingest_pb2_grpc, index_sync_pb2, index_sync_pb2_grpc
from cartads.v1.admin_pb2_grpc import AdminServiceStub
from cloud_core.access.policy import Role
from cloud_core.admin_cli import main as admin_cli
from cloud_core.app.server import CloudServer, start_cloud
from cloud_core.config import CloudConfig
from edge_node.app.server import start_edge
from tests.edge_node.helpers import edge_config
from tests.tls_certs import edge_cert, make_ca, operator_cert, server_cert

STORE_ID = "store-1"


@dataclass
class TlsSetup:
    cloud: CloudServer
    certs: Path
    operator: TlsFiles
    edge: TlsFiles
    other_store_edge: TlsFiles
    admin_token: str = ""


@pytest.fixture
async def tls(tmp_path: Path) -> AsyncIterator[TlsSetup]:
    """A cloud that requires client certificates from the test CA, with store-1 and store-2 created."""
    certs = tmp_path / "certs"
    ca = make_ca(certs)
    server = server_cert(ca, certs)
    cloud = await start_cloud(
        CloudConfig(
            db=str(tmp_path / "cloud.sqlite3"),
            listen_address="127.0.0.1:0",
            push_delay_s=0.02,
            tls_cert_path=server.cert_path,
            tls_key_path=server.key_path,
            tls_client_ca_path=str(ca.path),
        )
    )
    setup = TlsSetup(
        cloud,
        certs,
        operator_cert(ca, certs),
        edge_cert(ca, certs, STORE_ID, "edge-1"),
        edge_cert(ca, certs, "store-2", "edge-9"),
        await cloud.mint_token(Role.ADMIN),
    )
    async with secure(setup, setup.operator, setup.admin_token) as channel:
        admin = AdminServiceStub(channel)
        for store_id in (STORE_ID, "store-2"):
            await admin.CreateStore(
                admin_pb2.CreateStoreRequest(store_id=store_id, store=admin_pb2.Store(display_name=store_id))
            )
    try:
        yield setup
    finally:
        await cloud.stop(grace_s=0.2)


def secure(setup: TlsSetup, files: TlsFiles, token: str | None = None) -> grpc.aio.Channel:
    return aio_channel(f"127.0.0.1:{setup.cloud.port}", token, credentials=channel_credentials(files))


async def refused_subscription(channel: grpc.aio.Channel, store_id: str) -> tuple[grpc.StatusCode, str]:
    """The status a refused subscription ends with.

    The server may refuse before the client's first write lands; that write then fails with a
    transport error of its own, so the call's final status is read instead of the write's.
    """
    call = index_sync_pb2_grpc.IndexSyncServiceStub(channel).StreamIndex(None)
    try:
        await call.write(index_sync_pb2.StreamIndexRequest(store_id=store_id, edge_id="edge-1"))
        response = await call.read()
    except grpc.aio.AioRpcError:
        response = None
    assert not isinstance(response, index_sync_pb2.StreamIndexResponse), "the subscription was served"
    return await call.code(), await call.details() or ""


async def test_edge_with_its_store_certificate_syncs(tls: TlsSetup, tmp_path: Path) -> None:
    """An edge configured with a certificate for its store gets its index over mutual TLS."""
    config = edge_config(
        tmp_path,
        tls.cloud.port,
        tls_cert_path=tls.edge.cert_path,
        tls_key_path=tls.edge.key_path,
        tls_ca_path=tls.edge.ca_path,
    )
    edge = await start_edge(config)
    try:
        await edge.wait_for_index(timeout_s=5.0)
        async with secure(tls, tls.operator, tls.admin_token) as channel:
            listed = await AdminServiceStub(channel).ListEdges(admin_pb2.ListEdgesRequest(store_id=STORE_ID))
        assert [(e.edge_id, e.current_version) for e in listed.edges] == [("edge-1", edge.index_version)]
        assert len(edge.index_version) == 64  # a sha256: the index itself, not an empty placeholder
    finally:
        await edge.stop(grace_s=0.2)


async def test_subscription_for_another_store_is_permission_denied(tls: TlsSetup) -> None:
    """A certificate for store-2 cannot subscribe to store-1's index."""
    async with secure(tls, tls.other_store_edge) as channel:
        code, details = await refused_subscription(channel, STORE_ID)
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert "store-2" in details


async def test_upload_for_another_store_is_permission_denied(tls: TlsSetup) -> None:
    """A certificate for store-2 cannot upload events as store-1."""
    async with secure(tls, tls.other_store_edge) as channel:
        stub = event_ingest_pb2_grpc.EventIngestServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.UploadEvents(event_ingest_pb2.UploadEventsRequest(store_id=STORE_ID, edge_id="edge-9"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_own_store_upload_is_accepted(tls: TlsSetup) -> None:
    """The same kind of upload for the certificate's own store goes through."""
    async with secure(tls, tls.other_store_edge) as channel:
        stub = event_ingest_pb2_grpc.EventIngestServiceStub(channel)
        response = await stub.UploadEvents(event_ingest_pb2.UploadEventsRequest(store_id="store-2", edge_id="edge-9"))
    assert response.billed_count == 0


async def test_certificate_without_store_cannot_subscribe(tls: TlsSetup) -> None:
    """An operator certificate (no store binding) may administer but not subscribe to an index."""
    async with secure(tls, tls.operator) as channel:
        code, _ = await refused_subscription(channel, STORE_ID)
    assert code == grpc.StatusCode.PERMISSION_DENIED


async def test_operator_certificate_without_token_is_unauthenticated(tls: TlsSetup) -> None:
    """Over mTLS, AdminService still needs a bearer token: the certificate alone is not an operator."""
    async with secure(tls, tls.operator) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await AdminServiceStub(channel).ListStores(admin_pb2.ListStoresRequest(), timeout=5.0)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_client_without_certificate_is_refused(tls: TlsSetup) -> None:
    """A TLS client that presents no certificate does not get a connection."""
    credentials = grpc.ssl_channel_credentials(root_certificates=tls.edge.read()[2])
    async with grpc.aio.secure_channel(f"127.0.0.1:{tls.cloud.port}", credentials) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await AdminServiceStub(channel).ListStores(admin_pb2.ListStoresRequest(), timeout=5.0)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_plaintext_client_is_refused(tls: TlsSetup) -> None:
    """A plaintext client cannot talk to a cloud configured for TLS."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{tls.cloud.port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await AdminServiceStub(channel).ListStores(admin_pb2.ListStoresRequest(), timeout=5.0)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_admin_cli_talks_tls_with_operator_certificate(tls: TlsSetup, capsys: pytest.CaptureFixture[str]) -> None:
    """cartads-admin with --tls-ca/--tls-cert/--tls-key lists stores from a cloud that requires mTLS."""
    argv = [
        "--cloud",
        f"127.0.0.1:{tls.cloud.port}",
        "--tls-ca",
        tls.operator.ca_path,
        "--tls-cert",
        tls.operator.cert_path,
        "--tls-key",
        tls.operator.key_path,
        "--token",
        tls.admin_token,
        "--json",
        "stores",
        "list",
    ]
    assert await asyncio.to_thread(admin_cli.main, argv) == 0
    assert '"store_id": "store-2"' in capsys.readouterr().out
