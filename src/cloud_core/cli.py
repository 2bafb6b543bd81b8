"""``cartads-cloud``: run the cloud until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Sequence

import structlog

from cartads.logs import configure_logging
from cartads.tls_identity import tls_files
from cloud_core.config import CloudConfig
from cloud_core.server import start_cloud

DEFAULT_DB = "./cartads-cloud.sqlite3"
DEFAULT_LISTEN = "127.0.0.1:50051"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cartads-cloud",
        description="CartAds cloud: AdminService, IndexSyncService and EventIngestService on one gRPC port.",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("CARTADS_DB", DEFAULT_DB),
        help="SQLite database file, created if missing (env CARTADS_DB; default %(default)s)",
    )
    parser.add_argument(
        "--listen",
        default=os.environ.get("CARTADS_LISTEN", DEFAULT_LISTEN),
        help="HOST:PORT to serve gRPC on; port 0 picks a free one (env CARTADS_LISTEN; default %(default)s)",
    )
    parser.add_argument("--push-delay-s", type=float, default=0.1, help="coalescing delay before index pushes")
    parser.add_argument("--token-ttl-s", type=int, default=7200, help="tracking token lifetime in seconds")
    parser.add_argument("--reserve-cpm-micros", type=int, default=500_000, help="auction reserve price (CPM micros)")
    parser.add_argument(
        "--tls-cert",
        default=os.environ.get("CARTADS_TLS_CERT"),
        help="server certificate chain (PEM) for mutual TLS with edges (env CARTADS_TLS_CERT)",
    )
    parser.add_argument(
        "--tls-key", default=os.environ.get("CARTADS_TLS_KEY"), help="server private key (PEM) (env CARTADS_TLS_KEY)"
    )
    parser.add_argument(
        "--tls-client-ca",
        default=os.environ.get("CARTADS_TLS_CLIENT_CA"),
        help="CA certificate(s) (PEM) that sign client certificates; with TLS every client needs one "
        "(env CARTADS_TLS_CLIENT_CA)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--log-json", action="store_true", help="JSON log lines even on a terminal")
    return parser


def config_from_args(args: argparse.Namespace) -> CloudConfig:
    return CloudConfig(
        db_path=args.db,
        listen_address=args.listen,
        push_delay_s=args.push_delay_s,
        token_ttl_s=args.token_ttl_s,
        reserve_cpm_micros=args.reserve_cpm_micros,
        tls_cert_path=args.tls_cert,
        tls_key_path=args.tls_key,
        tls_client_ca_path=args.tls_client_ca,
    )


class StartupError(Exception):
    """The cloud could not start (port taken, database unreadable, ...)."""


async def serve(config: CloudConfig, grace_s: float = 5.0) -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully."""
    # Handlers first: a signal that arrives while starting still leads to a clean stop.
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        cloud = await start_cloud(config)
    except RuntimeError as exc:
        raise StartupError(f"cannot listen on {config.listen_address}: {exc}") from exc
    except (sqlite3.Error, OSError) as exc:
        raise StartupError(f"cannot open database {config.db_path}: {exc}") from exc
    print(f"cartads-cloud listening on port {cloud.port}", file=sys.stderr, flush=True)
    try:
        await stopping.wait()
    finally:
        structlog.get_logger("cloud").info("cloud_stopping")
        await cloud.stop(grace_s)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        tls_files(args.tls_cert, args.tls_key, args.tls_client_ca, "--tls-client-ca")
    except ValueError as exc:
        parser.error(str(exc))
    configure_logging(level=args.log_level, json=True if args.log_json else None)
    config = config_from_args(args)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(serve(config))
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
