"""Starts the cloud: one grpc.aio server with AdminService, IndexSyncService and EventIngestService."""

from __future__ import annotations

import time
from dataclasses import dataclass

import grpc
import structlog
from grpc_health.v1 import health

from cartads.rpc.runtime import RequestLogInterceptor, enable_health_and_reflection, server_options, set_serving
from cartads.rpc.tls import server_credentials, tls_files
from cartads.time_units import now_us
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
from cloud_core.access.api_tokens import TokenAuthenticator, issue_token
from cloud_core.access.auth import AuthInterceptor
from cloud_core.access.policy import Role
from cloud_core.admin.delivery.status import DeliveryAdmin, console_reader
from cloud_core.admin.exports.forecast import ForecastAdmin
from cloud_core.admin.exports.jobs import ExportRunner
from cloud_core.admin.service import AdminServicer, AdminStorage
from cloud_core.compile.compiler import CompileSettings
from cloud_core.compile.incremental import IncrementalCompiler
from cloud_core.config import CloudConfig
from cloud_core.console.experiments import read_experiments
from cloud_core.console.exports import exports_reader
from cloud_core.console.forecast import forecast_reader
from cloud_core.console.http import ConsoleBindError, ConsoleServer, operator_token_check, start_console
from cloud_core.delivery.leases import LeaseSettings
from cloud_core.events.ingest import EventIngestServicer
from cloud_core.storage.cloud_store import SqlCloudStore
from cloud_core.storage.sql.database import redact
from cloud_core.sync.asset_service import AssetServicer
from cloud_core.sync.db_notifier import DatabaseNotifier
from cloud_core.sync.heartbeats import Heartbeats, HeartbeatSettings
from cloud_core.sync.service import IndexBuilder, IndexSyncServicer

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
    store: SqlCloudStore
    notifier: DatabaseNotifier
    _server: grpc.aio.Server
    _health: health.HealthServicer
    _stopped: bool = False
    # Runs this replica's report exports in the background.
    exports: ExportRunner | None = None
    # The operator console (config.console_listen_address); None when not served.
    console: ConsoleServer | None = None
    # This replica's heartbeats (and its sweeps of silent replicas' edges).
    heartbeats: Heartbeats | None = None
    # The index streams' servicer (its shared index store and cache, for tests and benchmarks).
    index_sync: IndexSyncServicer | None = None

    async def mint_token(
        self, role: Role, *, advertiser_id: str = "", store_id: str = "", display_name: str = ""
    ) -> str:
        """A new bearer token's secret, made directly in the database (tests, the demo, benchmarks)."""
        _, secret = await issue_token(
            self.store.tokens,
            role,
            now_us(),
            advertiser_id=advertiser_id,
            store_id=store_id,
            display_name=display_name or f"{role.value} (in-process)",
        )
        return secret

    async def stop(self, grace_s: float = 1.0) -> None:
        """Stop serving (open streams are cancelled after ``grace_s``), then close the database; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        set_serving(self._health, SERVICE_NAMES, serving=False)
        if self.console is not None:
            await self.console.stop()
        await self._server.stop(grace_s)
        if self.heartbeats is not None:
            await self.heartbeats.stop()
        if self.exports is not None:
            await self.exports.close()
        await self.notifier.stop()
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
    # Creates a SQLite file's directory; DatabaseOpenError when the database cannot be opened.
    store = await SqlCloudStore.open(config.db, replica_id=config.replica_id)
    # Shared through the database, so index streams on every replica hear of every admin change.
    notifier = DatabaseNotifier(store.db, poll_interval_s=config.change_poll_s)
    settings = CompileSettings(
        token_ttl_s=config.token_ttl_s,
        max_ads_per_trip=config.max_ads_per_trip,
        min_ad_interval_ms=config.min_ad_interval_ms,
        reserve_cpm_micros=config.reserve_cpm_micros,
        lease=LeaseSettings(lease_period_s=config.lease_period_s, lease_grace_s=config.lease_grace_s),
        cart_limits=config.cart_limits,
        ivt_policy=config.ivt_policy,
    )
    # One cache for AdminService and the console, so a revocation here reaches both at once.
    authenticator = TokenAuthenticator(store.tokens, time.monotonic)
    auth = AuthInterceptor(authenticator, store.campaigns)
    # The request log wraps the auth check, so refused calls are logged with their status too.
    server = grpc.aio.server(
        interceptors=[RequestLogInterceptor(), auth],
        options=[*server_options(config.max_message_bytes), *config.keepalive.server_options()],
    )
    builder = IndexBuilder(
        catalog=store.catalog,
        experiments=store.experiments,
        delivery=store.pacing_stats,
        carts=store.carts,
        settings=settings,
        compiler=IncrementalCompiler(config.compile_memo),
    )
    admin_storage = AdminStorage(
        advertisers=store.advertisers,
        campaigns=store.campaigns,
        catalog=store.catalog,
        assets=store.assets,
        access=store.tokens,
        edges=store.edges,
        experiments=store.experiments,
        reports=store.reports,
        ledger=store.ledger,
        carts=store.carts,
        signing_keys=store.signing_keys,
        exports=store.exports,
        traffic=store.pacing_stats,
        audit=store.audit,
        delivery_preview=builder,
        delivery_reads=store.pacing_stats,
        lease=settings.lease,
    )
    exports = ExportRunner(
        store.exports,
        store.reports,
        store.catalog,
        runner_id=config.replica_id,
        max_running=config.max_running_exports,
        chunk_bytes=config.export_chunk_bytes,
    )
    admin_pb2_grpc.add_AdminServiceServicer_to_server(
        AdminServicer(admin_storage, notifier, exports, on_revoke=auth.forget), server
    )
    index_sync = IndexSyncServicer(
        catalog=store.catalog,
        edges=store.edges,
        notifier=notifier,
        builder=builder,
        config=config,
        keys=store.signing_keys,
        terms=store.terms,
        versions=store.index_versions,
        flush=notifier.flush,
        stored=notifier.stored,
    )
    index_sync_pb2_grpc.add_IndexSyncServiceServicer_to_server(index_sync, server)
    heartbeats = Heartbeats(
        store.replicas,
        HeartbeatSettings(config.replica_id, config.replica_heartbeat_s, config.replica_timeout_s),
        lambda: index_sync.live_edges,
    )
    event_ingest_pb2_grpc.add_EventIngestServiceServicer_to_server(
        EventIngestServicer(
            catalog=store.catalog,
            ledger=store.ledger,
            request_counts=store.pacing_stats,
            notifier=notifier,
            config=config,
            terms=store.terms,
            keys=store.signing_keys,
        ),
        server,
    )
    asset_pb2_grpc.add_AssetServiceServicer_to_server(
        AssetServicer(catalog=store.catalog, assets=store.assets, terms=store.terms), server
    )
    health_servicer = enable_health_and_reflection(server, SERVICE_NAMES)
    try:
        port = _bind(server, config)
        console = None
        if config.console_listen_address:
            console = await start_console(
                config.console_listen_address,
                store.console,
                token_check=operator_token_check(authenticator),
                experiments=lambda start_us, end_us: read_experiments(
                    store.experiments, store.reports, start_us=start_us, end_us=end_us
                ),
                audit=store.audit,
                delivery=console_reader(DeliveryAdmin(store.campaigns, builder, store.pacing_stats, settings.lease)),
                exports=exports_reader(store.exports),
                forecast=forecast_reader(
                    store.campaigns, ForecastAdmin(store.catalog, store.pacing_stats, store.reports)
                ),
            )
    except (RuntimeError, OSError, ConsoleBindError):
        await server.stop(None)
        await store.close()
        raise
    # No stream of this replica survived its last run; each edge is marked connected again when it reconnects.
    await store.edges.disconnect_all_edges()
    # Alive before serving, so no other replica takes this one's new streams for a dead replica's.
    await heartbeats.start()
    await notifier.start()
    await server.start()
    # Exports accepted by a replica that stopped before running them (or while running them) are
    # taken up here, now and every minute.
    exports.start_sweeping()
    set_serving(health_servicer, SERVICE_NAMES, serving=True)
    log.info("cloud_started", listen=config.listen_address, port=port, db=redact(config.db), replica=config.replica_id)
    if console is not None:
        log.info("console_started", url=console.url)
    return CloudServer(
        port,
        config,
        store,
        notifier,
        server,
        health_servicer,
        console=console,
        exports=exports,
        heartbeats=heartbeats,
        index_sync=index_sync,
    )
