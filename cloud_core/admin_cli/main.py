"""``cartads-admin``: operate the cloud's AdminService from a shell."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import grpc

from cartads.rpc.bearer import read_token, sync_channel
from cartads.rpc.errors import field_violations
from cartads.rpc.tls import channel_credentials, tls_files
from cartads.v1 import admin_pb2, admin_pb2_grpc
from cloud_core.admin_cli import (
    advertisers,
    assets,
    billing,
    campaigns,
    carts,
    creatives,
    edges,
    experiments,
    line_items,
    reports,
    stores,
    tokens,
)
from cloud_core.admin_cli.command import Handler, OneLineErrors, Stub, Subcommands, UsageError

DEFAULT_CLOUD = "127.0.0.1:50051"
# Each resource module registers its group(s) of commands, in the order --help lists them.
COMMAND_GROUPS: tuple[Callable[[Subcommands], None], ...] = (
    advertisers.register,
    campaigns.register,
    line_items.register,
    creatives.register,
    stores.register,
    carts.register,
    reports.register,
    billing.register,
    tokens.register,
    tokens.register_audit,
    edges.register,
    assets.register,
    experiments.register,
)


def build_parser() -> argparse.ArgumentParser:
    # No abbreviations at the top: they would take a subcommand's flag for a global one (`report run
    # --to` for `--token`).
    parser = OneLineErrors(
        prog="cartads-admin", description="Manage CartAds advertisers, campaigns and stores.", allow_abbrev=False
    )
    parser.add_argument(
        "--cloud",
        default=os.environ.get("CARTADS_CLOUD", DEFAULT_CLOUD),
        help="cloud HOST:PORT (env CARTADS_CLOUD; default %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--timeout-s", type=float, default=30.0, help="deadline per call")
    parser.add_argument(
        "--tls-ca", default=os.environ.get("CARTADS_TLS_CA"), help="CA (PEM) of the cloud's certificate"
    )
    parser.add_argument("--tls-cert", default=os.environ.get("CARTADS_TLS_CERT"), help="client certificate (PEM)")
    parser.add_argument("--tls-key", default=os.environ.get("CARTADS_TLS_KEY"), help="client private key (PEM)")
    parser.add_argument("--token", help="bearer token (default: --token-file, else env CARTADS_TOKEN)")
    parser.add_argument(
        "--token-file", default=os.environ.get("CARTADS_TOKEN_FILE"), help="file holding the bearer token"
    )
    root = parser.add_subparsers(dest="resource", metavar="RESOURCE", required=True)
    for register in COMMAND_GROUPS:
        register(root)
    return parser


def describe_rpc_error(error: grpc.RpcError) -> str:
    """One line: the status code, then each field violation or the status message."""
    code_fn = getattr(error, "code", None)
    code = code_fn() if callable(code_fn) else None
    name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
    violations = field_violations(error)
    if violations:
        return f"{name}: " + "; ".join(f"{field}: {why}" for field, why in violations)
    details_fn = getattr(error, "details", None)
    details = details_fn() if callable(details_fn) else str(error)
    return f"{name}: {details}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success (also when the reader of stdout went away), 2 on an error."""
    try:
        try:
            return _run(argv)
        finally:
            # Output still buffered would otherwise meet a closed pipe at the interpreter's exit,
            # where the error can no longer be caught.
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of ours. Stdout now points at
        # devnull so the interpreter's final flush has nowhere to fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        files = tls_files(args.tls_cert, args.tls_key, args.tls_ca, "--tls-ca")
        token = read_token(args.token, args.token_file)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    credentials = None if files is None else channel_credentials(files)
    channel = sync_channel(args.cloud, token, credentials=credentials, options=options)
    try:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        _with_timeout(stub, args.timeout_s)
        code = handler(stub, args)
    except grpc.RpcError as exc:
        print(f"error: {describe_rpc_error(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # An OSError too, but not a file the user named: main ends quietly on it.
        raise
    except (UsageError, OSError) as exc:
        # OSError: a file named on the command line (an image, a catalog directory) cannot be read.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        channel.close()
    return code or 0


def _with_timeout(stub: Stub, timeout_s: float) -> None:
    """Give every call on the stub a deadline, so an unreachable cloud fails instead of hanging."""
    for name in admin_pb2.DESCRIPTOR.services_by_name["AdminService"].methods_by_name:
        call = getattr(stub, name)

        def bound(request: Any, _call: Any = call) -> Any:
            return _call(request, timeout=timeout_s)

        setattr(stub, name, bound)


if __name__ == "__main__":
    sys.exit(main())
