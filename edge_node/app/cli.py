"""``cartads-edge``: run one store's edge node until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cartads.event_loop import loop_factory
from edge_node.app.cpu_policy import (
    EXECUTOR_THREAD_PREFIX,
    keep_helper_threads_niced,
    name_executor_thread,
    use_batch_scheduling,
)
from edge_node.app.workers import run_workers, worker_config
from edge_node.config import EdgeConfig

if TYPE_CHECKING:
    pass

# structlog, asyncio and gRPC are imported where the edge serves: a --workers supervisor only
# starts and signals its workers, and those imports would cost it ~15 MB it never uses.


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"CARTADS_{name}", default)


def build_parser() -> argparse.ArgumentParser:
    """Flags, each defaulting to its CARTADS_* environment variable."""
    parser = argparse.ArgumentParser(
        prog="cartads-edge",
        description="Serve ads to one store's carts from a locally held index; journal and upload their events.",
    )
    store = _env("STORE")
    cloud = _env("CLOUD")
    parser.add_argument("--store", default=store, required=store is None, help="store id served (CARTADS_STORE)")
    parser.add_argument(
        "--edge-id", default=_env("EDGE_ID"), help="this edge's id (CARTADS_EDGE_ID; default edge-<store>)"
    )
    parser.add_argument(
        "--cloud", default=cloud, required=cloud is None, metavar="HOST:PORT", help="cloud address (CARTADS_CLOUD)"
    )
    parser.add_argument(
        "--data-dir",
        default=_env("DATA_DIR"),
        help="directory for the LMDB index and journal (CARTADS_DATA_DIR; default ./cartads-edge-<store>)",
    )
    parser.add_argument(
        "--listen",
        default=_env("LISTEN", "127.0.0.1:50061"),
        metavar="HOST:PORT",
        help="address to serve carts on (CARTADS_LISTEN)",
    )
    parser.add_argument(
        "--ops-listen",
        default=_env("OPS_LISTEN"),
        metavar="HOST:PORT",
        help="serve /metrics, /healthz and /readyz over HTTP here (CARTADS_OPS_LISTEN; default: not served)",
    )
    parser.add_argument(
        "--assets-listen",
        default=_env("ASSETS_LISTEN", "127.0.0.1:0"),
        metavar="HOST:PORT",
        help="serve creative images to carts over HTTP here; GetAds answers carry the URLs "
        "(CARTADS_ASSETS_LISTEN; default 127.0.0.1 on a free port)",
    )
    parser.add_argument(
        "--assets-public-url",
        default=_env("ASSETS_PUBLIC_URL", ""),
        metavar="URL",
        help="base URL carts fetch images from, e.g. http://10.1.2.3:50062 (CARTADS_ASSETS_PUBLIC_URL; "
        "default: http://<the bound --assets-listen address>)",
    )
    parser.add_argument(
        "--tls-cert", default=_env("TLS_CERT"), help="client certificate (PEM) for mutual TLS to the cloud"
    )
    parser.add_argument("--tls-key", default=_env("TLS_KEY"), help="client private key (PEM) (CARTADS_TLS_KEY)")
    parser.add_argument(
        "--tls-ca", default=_env("TLS_CA"), help="CA (PEM) that signs the cloud's certificate (CARTADS_TLS_CA)"
    )
    parser.add_argument(
        "--tls-server-name",
        default=_env("TLS_SERVER_NAME"),
        help="name to verify in the cloud's certificate (CARTADS_TLS_SERVER_NAME; default: the --cloud host)",
    )
    parser.add_argument(
        "--cloud-token-file",
        default=_env("CLOUD_TOKEN_FILE"),
        metavar="FILE",
        help="file holding this store's edge token for the cloud (cartads-admin tokens create --role edge "
        "--store S); the token itself may be given as CARTADS_CLOUD_TOKEN instead",
    )
    parser.add_argument("--log-level", default=_env("LOG_LEVEL", "INFO"), help="log level (CARTADS_LOG_LEVEL)")
    parser.add_argument(
        "--log-json",
        action=argparse.BooleanOptionalAction,
        default=_parse_bool(_env("LOG_JSON")),
        help="JSON log lines (CARTADS_LOG_JSON; default: JSON unless stderr is a terminal)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(_env("WORKERS", "1") or "1"),
        help="worker processes sharing the port with SO_REUSEPORT, each with its own data dir under "
        "--data-dir (CARTADS_WORKERS; default 1)",
    )
    parser.add_argument(
        "--batch-scheduling",
        action=argparse.BooleanOptionalAction,
        default=_parse_bool(_env("BATCH_SCHEDULING")) is not False,
        help="serve under Linux's SCHED_BATCH policy: more requests per CPU when cores are busy, the same "
        "latency when they are not (CARTADS_BATCH_SCHEDULING; default on)",
    )
    parser.add_argument(
        "--helper-thread-nice",
        type=_nice,
        # A string: argparse converts it with _nice, so a bad environment value is a usage error too.
        default=_env("HELPER_THREAD_NICE", "10") or "10",
        metavar="N",
        help="nice value (0-19) of gRPC's helper threads, so that they wait for the serving thread "
        "instead of preempting it; 0 leaves them as started (CARTADS_HELPER_THREAD_NICE; default 10)",
    )
    parser.add_argument(
        "--no-cart-auth-benchmark-baseline",
        dest="cart_auth",
        action="store_false",
        help="ONLY for the benchmark's auth_throughput_ratio baseline: serve and journal calls without "
        "checking cart credentials, so any caller can claim to be any cart. Never in a store (no "
        "environment variable turns it on)",
    )
    # Set by the supervisor on each worker it starts; not for people.
    parser.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    return parser


def _nice(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 19:
        raise argparse.ArgumentTypeError(f"{value} is not a nice value from 0 to 19")
    return value


def _parse_bool(text: str | None) -> bool | None:
    if text is None or text == "":
        return None
    return text.strip().lower() in {"1", "true", "yes", "on"}


def config_from_args(args: argparse.Namespace) -> EdgeConfig:
    """The frozen configuration the flags describe."""
    store_id: str = args.store
    return EdgeConfig(
        store_id=store_id,
        edge_id=args.edge_id or f"edge-{store_id}",
        cloud_address=args.cloud,
        data_dir=args.data_dir or f"cartads-edge-{store_id}",
        listen_address=args.listen,
        ops_listen_address=args.ops_listen,
        asset_listen_address=args.assets_listen,
        asset_public_base_url=args.assets_public_url.rstrip("/"),
        tls_cert_path=args.tls_cert,
        tls_key_path=args.tls_key,
        tls_ca_path=args.tls_ca,
        tls_server_name=args.tls_server_name,
        cloud_token=cloud_token(args.cloud_token_file),
        batch_scheduling=args.batch_scheduling,
        helper_thread_nice=args.helper_thread_nice,
        cart_auth=args.cart_auth,
    )


def cloud_token(token_file: str | None) -> str | None:
    """The edge token: the first line of ``token_file``, else $CARTADS_CLOUD_TOKEN, else None."""
    if token_file:
        lines = Path(token_file).read_text().strip().splitlines()
        if not lines:
            raise ValueError(f"--cloud-token-file {token_file} is empty")
        return lines[0].strip()
    return _env("CLOUD_TOKEN", "") or None


async def serve(config: EdgeConfig) -> None:
    """Run the edge until SIGINT or SIGTERM, then stop gracefully."""
    # Imported here, not at the top: a --workers supervisor never serves, and importing gRPC and
    # the edge would cost it ~50 MB that it never uses.
    import asyncio
    import signal
    from concurrent.futures import ThreadPoolExecutor

    import structlog

    from edge_node.app.server import settle_heap, start_edge

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Named, so that the helper threads' nice value passes them by (edge_node/app/cpu_policy.py).
    loop.set_default_executor(
        ThreadPoolExecutor(thread_name_prefix=EXECUTOR_THREAD_PREFIX, initializer=name_executor_thread)
    )
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # add_signal_handler is Unix-only
            loop.add_signal_handler(signum, stop.set)
    edge = await start_edge(config)
    settle_heap()
    helpers = None
    if config.helper_thread_nice > 0:
        helpers = keep_helper_threads_niced(config.helper_thread_nice)
    print(f"cartads-edge serving store {config.store_id} on port {edge.port}", flush=True)
    try:
        await stop.wait()
    finally:
        structlog.get_logger("edge").info("stopping edge")
        if helpers is not None:
            helpers.cancel()
        await edge.stop(grace_s=5.0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``cartads-edge``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers > 1 and args.worker_index is None:
        # The supervisor only starts and signals the workers, which check their flags themselves;
        # it imports neither gRPC nor the edge (~50 MB it would never use).
        given = list(sys.argv[1:] if argv is None else argv)
        return run_workers(
            lambda i: [sys.executable, "-m", "edge_node.app.cli", *given, f"--worker-index={i}"], args.workers
        )
    from cartads.ops.logs import configure_logging
    from cartads.rpc.tls import tls_files  # imports gRPC: see above

    try:
        tls_files(args.tls_cert, args.tls_key, args.tls_ca, "--tls-ca")
    except ValueError as exc:
        parser.error(str(exc))
    configure_logging(level=args.log_level, json=args.log_json)
    try:
        config = config_from_args(args)
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read the cloud token: {exc}")
    if args.worker_index is not None:
        config = worker_config(config, args.worker_index, args.workers)
    with contextlib.suppress(KeyboardInterrupt):
        _run(config)
    return 0


def _run(config: EdgeConfig) -> None:
    import asyncio

    import structlog

    # Before the server starts its threads, which inherit the policy.
    if config.batch_scheduling and not use_batch_scheduling():
        structlog.get_logger("edge").info("SCHED_BATCH is not available here; serving under the default CPU policy")
    # uvloop gives grpc.aio about 30% more throughput here; the server must be created inside its loop.
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(serve(config))


if __name__ == "__main__":
    raise SystemExit(main())
