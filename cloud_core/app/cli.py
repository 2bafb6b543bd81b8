"""``cartads-cloud``: run the cloud until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError

from cartads.event_loop import loop_factory
from cartads.ops.logs import configure_logging
from cartads.rpc.tls import tls_files
from cartads.time_units import dt_to_us
from cloud_core.app.server import start_cloud
from cloud_core.config import CloudConfig
from cloud_core.console.http import ConsoleBindError, split_address
from cloud_core.storage.sql.database import DatabaseOpenError, first_line, redact

DEFAULT_DB = "./cartads-cloud.sqlite3"
DEFAULT_LISTEN = "127.0.0.1:50051"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cartads-cloud",
        description="CartAds cloud: AdminService, IndexSyncService and EventIngestService on one gRPC port.",
        epilog="Also: `cartads-cloud migrate --db DB` (create or upgrade the schema, then exit) and "
        "`cartads-cloud create-token ...` (see `cartads-cloud create-token --help`).",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("CARTADS_DB", DEFAULT_DB),
        metavar="PATH|postgresql://...",
        help="the database: a SQLite file (created if missing) or a PostgreSQL DSN; migrated to the newest "
        "schema on start (env CARTADS_DB; default %(default)s)",
    )
    parser.add_argument(
        "--replica-id",
        default=os.environ.get("CARTADS_REPLICA_ID") or f"{socket.gethostname()}:{os.getpid()}",
        help="this process's name among several replicas sharing one database (env CARTADS_REPLICA_ID; "
        "default HOSTNAME:PID)",
    )
    parser.add_argument(
        "--listen",
        default=os.environ.get("CARTADS_LISTEN", DEFAULT_LISTEN),
        help="HOST:PORT to serve gRPC on; port 0 picks a free one (env CARTADS_LISTEN; default %(default)s)",
    )
    parser.add_argument(
        "--console-listen",
        default=os.environ.get("CARTADS_CONSOLE_LISTEN", ""),
        metavar="HOST:PORT",
        help="serve the read-only operator console (HTTP) here, e.g. 127.0.0.1:8090; port 0 picks a free one; "
        "its API takes an admin or viewer token (env CARTADS_CONSOLE_LISTEN; default: not served)",
    )
    parser.add_argument("--push-delay-s", type=float, default=0.1, help="coalescing delay before index pushes")
    parser.add_argument(
        "--index-cache-mb",
        type=_positive_int,
        default=os.environ.get("CARTADS_INDEX_CACHE_MB", "256"),
        help="memory for compiled indexes, snapshots and deltas in this replica; versions live in the database "
        "(env CARTADS_INDEX_CACHE_MB; default %(default)s)",
    )
    parser.add_argument(
        "--compile-lease-s",
        type=_positive_float,
        default=os.environ.get("CARTADS_COMPILE_LEASE_S", "10"),
        help="one replica compiles a store at a time under a lease this long, renewed while compiling; a dead "
        "holder's lease is taken over when it expires (env CARTADS_COMPILE_LEASE_S; default %(default)s)",
    )
    parser.add_argument(
        "--replica-heartbeat-s",
        type=_positive_float,
        default=os.environ.get("CARTADS_REPLICA_HEARTBEAT_S", "3"),
        help="how often this replica records that it is alive (env CARTADS_REPLICA_HEARTBEAT_S; default %(default)s)",
    )
    parser.add_argument(
        "--replica-timeout-s",
        type=_positive_float,
        default=os.environ.get("CARTADS_REPLICA_TIMEOUT_S", "15"),
        help="the edges of a replica without a heartbeat for this long are shown disconnected "
        "(env CARTADS_REPLICA_TIMEOUT_S; default %(default)s)",
    )
    parser.add_argument("--token-ttl-s", type=int, default=7200, help="tracking token lifetime in seconds")
    parser.add_argument("--reserve-cpm-micros", type=int, default=500_000, help="auction reserve price (CPM micros)")
    parser.add_argument(
        "--legacy-store-key-tokens-until",
        type=_iso_time_us,
        default=None,
        metavar="ISO-8601",
        help="bill tokens signed with a store's shared key (edges before per-edge keys) until this time, "
        "e.g. 2026-12-08T00:00:00Z (default: --token-ttl-s after the database was migrated)",
    )
    parser.add_argument(
        "--terms-retention-days",
        type=int,
        default=35,
        help="how long the terms of each index version sent to a store are kept (events under older ones are refused)",
    )
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
        db=args.db,
        replica_id=args.replica_id,
        listen_address=args.listen,
        push_delay_s=args.push_delay_s,
        token_ttl_s=args.token_ttl_s,
        reserve_cpm_micros=args.reserve_cpm_micros,
        tls_cert_path=args.tls_cert,
        tls_key_path=args.tls_key,
        tls_client_ca_path=args.tls_client_ca,
        console_listen_address=args.console_listen,
        legacy_store_key_tokens_until_us=args.legacy_store_key_tokens_until,
        terms_retention_days=args.terms_retention_days,
        index_cache_bytes=args.index_cache_mb * 1024 * 1024,
        compile_lease_s=args.compile_lease_s,
        replica_heartbeat_s=args.replica_heartbeat_s,
        replica_timeout_s=args.replica_timeout_s,
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text}")
    return value


def _iso_time_us(text: str) -> int:
    """An ISO-8601 time with its zone, as microseconds since the epoch."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from exc
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time zone, e.g. 2026-12-08T00:00:00Z")
    return dt_to_us(when)


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
    except ConsoleBindError as exc:
        raise StartupError(f"console: {exc}") from exc
    except RuntimeError as exc:
        raise StartupError(f"cannot listen on {config.listen_address}: {exc}") from exc
    except DatabaseOpenError as exc:
        raise StartupError(str(exc)) from exc
    except (SQLAlchemyError, OSError) as exc:
        raise StartupError(f"cannot open database {redact(config.db)}: {first_line(exc)}") from exc
    print(f"cartads-cloud listening on port {cloud.port}", file=sys.stderr, flush=True)
    if cloud.console is not None:
        print(f"cartads-cloud console on {cloud.console.url}", file=sys.stderr, flush=True)
    try:
        await stopping.wait()
    finally:
        structlog.get_logger("cloud").info("cloud_stopping")
        await cloud.stop(grace_s)


def migrate_main(argv: Sequence[str]) -> int:
    """``cartads-cloud migrate --db DB``: bring the database to the newest schema, then exit."""
    parser = argparse.ArgumentParser(
        prog="cartads-cloud migrate",
        description="Create or upgrade the cloud's database schema (the cloud also does this on every start).",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("CARTADS_DB", DEFAULT_DB),
        metavar="PATH|postgresql://...",
        help="SQLite file or PostgreSQL DSN (env CARTADS_DB; default %(default)s)",
    )
    args = parser.parse_args(argv)
    from cloud_core.storage.sql.migrations import upgrade_to_head

    try:
        revision = upgrade_to_head(args.db)
    except DatabaseOpenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (SQLAlchemyError, OSError) as exc:
        print(f"error: cannot open database {redact(args.db)}: {first_line(exc)}", file=sys.stderr)
        return 2
    print(f"database {redact(args.db)} is at schema revision {revision}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["create-token"]:
        from cloud_core.app import token_cli

        return token_cli.main(words[1:])
    if words[:1] == ["migrate"]:
        return migrate_main(words[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        tls_files(args.tls_cert, args.tls_key, args.tls_client_ca, "--tls-client-ca")
        if args.console_listen:
            split_address(args.console_listen)
    except ValueError as exc:
        parser.error(str(exc))
    configure_logging(level=args.log_level, json=True if args.log_json else None)
    config = config_from_args(args)
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(serve(config))
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
