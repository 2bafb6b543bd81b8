"""Starts the cloud: one grpc.aio server with AdminService, IndexSyncService and EventIngestService."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc
import structlog
from grpc_health.v1 import health

from cartads.grpc_runtime import RequestLogInterceptor, enable_health_and_reflection, server_options, set_serving
from cartads.tls_identity import server_credentials, tls_files
from cartads.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    asset_pb2,
    asset_pb2_grpc,
    event_ingest_pb2,
    event_ingest_pb2_grpc,
    index_sync_pb2,
    index_sync_pb2_grpc,
)
from cloud_core.admin_service import AdminServicer
from cloud_core.asset_service import AssetServicer
from cloud_core.compiler import CompileSettings
from cloud_core.config import CloudConfig
from cloud_core.index_sync import IndexBuilder, IndexSyncServicer
from cloud_core.ingest import EventIngestServicer
from cloud_core.leases import LeaseSettings
from cloud_core.notifier import InProcessNotifier
from cloud_core.storage.sqlite_store import SqliteCloudStore

log = structlog.get_logger("cloud")

SERVICE_NAMES = (
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
    index_sync_pb2.DESCRIPTOR.services_by_name["IndexSyncService"].full_name,
    event_ingest_pb2.DESCRIPTOR.services_by_name["EventIngestService"].full_name,
    asset_pb2.DESCRIPTOR.services_by_name["AssetService"].full_name,
)


@dataclass
class CloudServer:
    """A running cloud; ``port`` is the bound port (useful with listen port 0)."""

    port: int
    config: CloudConfig
    store: SqliteCloudStore
    notifier: InProcessNotifier
    _server: grpc.aio.Server
    _health: health.HealthServicer
    _stopped: bool = False

    async def stop(self, grace_s: float = 1.0) -> None:
        """Stop serving (open streams are cancelled after ``grace_s``), then close the database; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        set_serving(self._health, SERVICE_NAMES, serving=False)
        await self._server.stop(grace_s)
        await self.store.close()
        log.info("cloud_stopped", port=self.port)


def _bind(server: grpc.aio.Server, config: CloudConfig) -> int:
    """Listen with mutual TLS when certificates are configured, in plaintext otherwise."""
    files = tls_files(config.tls_cert_path, config.tls_key_path, config.tls_client_ca_path, "--tls-client-ca")
    if files is None:
        return server.add_insecure_port(config.listen_address)
    return server.add_secure_port(config.listen_address, server_credentials(files))


async def start_cloud(config: CloudConfig) -> CloudServer:
    """Open the database (migrating it), bind the port and start serving."""
    db_parent = Path(config.db_path).parent
    db_parent.mkdir(parents=True, exist_ok=True)
    store = await SqliteCloudStore.open_path(config.db_path)
    notifier = InProcessNotifier()
    settings = CompileSettings(
        token_ttl_s=config.token_ttl_s,
        max_ads_per_trip=config.max_ads_per_trip,
        min_ad_interval_ms=config.min_ad_interval_ms,
        reserve_cpm_micros=config.reserve_cpm_micros,
        lease=LeaseSettings(lease_period_s=config.lease_period_s, lease_grace_s=config.lease_grace_s),
    )
    server = grpc.aio.server(interceptors=[RequestLogInterceptor()], options=server_options(config.max_message_bytes))
    admin_pb2_grpc.add_AdminServiceServicer_to_server(AdminServicer(store, notifier), server)
    index_sync_pb2_grpc.add_IndexSyncServiceServicer_to_server(
        IndexSyncServicer(store, notifier, IndexBuilder(store, settings), config), server
    )
    event_ingest_pb2_grpc.add_EventIngestServiceServicer_to_server(EventIngestServicer(store, notifier, config), server)
    asset_pb2_grpc.add_AssetServiceServicer_to_server(AssetServicer(store), server)
    health_servicer = enable_health_and_reflection(server, SERVICE_NAMES)
    try:
        port = _bind(server, config)
    except (RuntimeError, OSError):
        await store.close()
        raise
    # No stream survived the last run; each edge is marked connected again when it reconnects.
    await store.disconnect_all_edges()
    await server.start()
    set_serving(health_servicer, SERVICE_NAMES, serving=True)
    log.info("cloud_started", listen=config.listen_address, port=port, db=config.db_path)
    return CloudServer(port, config, store, notifier, server, health_servicer)
