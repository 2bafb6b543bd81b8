"""``cartads-admin``: operate the cloud's AdminService from a shell."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

import grpc

from cartads.rpc.bearer import read_token, sync_channel
from cartads.rpc.errors import field_violations
from cartads.rpc.tls import channel_credentials, tls_files
from cartads.v1 import admin_pb2, admin_pb2_grpc
from cloud_core.admin_cli.assets import add_assets_group
from cloud_core.admin_cli.commands import (
    FORMATS,
    PACING,
    PRICING,
    TIERS,
    TRIGGERS,
    Handler,
    Stub,
    UsageError,
    advertisers_create,
    advertisers_delete,
    advertisers_get,
    advertisers_list,
    advertisers_update,
    campaigns_create,
    campaigns_delete,
    campaigns_get,
    campaigns_list,
    campaigns_pause,
    campaigns_resume,
    campaigns_update,
    catalog_aisles,
    catalog_import,
    catalog_products,
    line_items_create,
    line_items_delete,
    line_items_get,
    line_items_list,
    line_items_pause,
    line_items_resume,
    line_items_update,
    report_spend,
    stores_create,
    stores_delete,
    stores_get,
    stores_list,
    stores_update,
)
from cloud_core.admin_cli.creatives import (
    creatives_create,
    creatives_delete,
    creatives_get,
    creatives_list,
    creatives_update,
)
from cloud_core.admin_cli.dead_letters import add_dead_letters_group
from cloud_core.admin_cli.edges import add_edges_group
from cloud_core.admin_cli.reports import add_experiments_group, add_report_run
from cloud_core.admin_cli.tokens import add_tokens_group

DEFAULT_CLOUD = "127.0.0.1:50051"


def _add(sub: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def _group(root: Any, name: str, help_text: str) -> Any:
    parser = root.add_parser(name, help=help_text, description=help_text)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    return sub


def _add_targeting(p: argparse.ArgumentParser) -> None:
    p.add_argument("--product", action="append", help="target a product id (repeatable)")
    p.add_argument("--brand", action="append", help="target a brand (repeatable)")
    p.add_argument("--aisle", action="append", help="target an aisle id (repeatable)")
    p.add_argument("--department", action="append", help="target a department id (repeatable)")
    p.add_argument("--zone", action="append", help="target a store zone id (repeatable)")
    p.add_argument("--trigger", action="append", choices=sorted(TRIGGERS), help="serve only on this trigger")
    p.add_argument("--store", action="append", help="serve only in this store (repeatable)")
    p.add_argument(
        "--daypart-hour", action="append", type=int, metavar="H", help="serve only in this hour, 0-23 (repeatable)"
    )
    p.add_argument(
        "--daypart-weekday",
        action="append",
        type=int,
        metavar="D",
        help="serve only on this ISO weekday, 1 = Monday .. 7 (repeatable)",
    )


def _add_serving(p: argparse.ArgumentParser, creating: bool) -> None:
    p.add_argument("--cap", type=int, default=0 if creating else None, help="most ads per cart session, 0 = no cap")
    p.add_argument(
        "--creative-cap",
        type=int,
        default=0 if creating else None,
        help="most ads of any one creative per cart session, 0 = no cap",
    )
    p.add_argument(
        "--tier",
        choices=sorted(TIERS),
        help="priority tier: sponsorship serves before auction, auction before house (default auction)",
    )
    p.add_argument("--exclusion-label", help="ads sharing a non-empty label never share a response, e.g. soda")
    p.add_argument(
        "--pacing",
        choices=sorted(PACING),
        help="even: spread the budget over the flight and each day along the store's traffic (default); "
        "asap: spend as fast as eligible",
    )
    p.add_argument(
        "--daily-budget-micros",
        type=int,
        help="most to spend per local day over all stores; 0 derives it from the campaign's budget and flight",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cartads-admin", description="Manage CartAds advertisers, campaigns and stores."
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
    for add_group in (_advertisers, _campaigns, _line_items, _creatives, _stores, _catalog, _report):
        add_group(root)
    add_tokens_group(root)
    add_edges_group(root)
    add_assets_group(root)
    add_dead_letters_group(root)
    add_experiments_group(root)
    return parser


def _advertisers(root: Any) -> None:
    sub = _group(root, "advertisers", "advertisers")
    p = _add(sub, "create", advertisers_create, "create an advertiser")
    p.add_argument("--name", required=True)
    p.add_argument("--id", help="advertiser id (server-made when omitted)")
    _add(sub, "list", advertisers_list, "list advertisers")
    _add(sub, "get", advertisers_get, "show one advertiser").add_argument("id")
    p = _add(sub, "update", advertisers_update, "rename an advertiser")
    p.add_argument("id")
    p.add_argument("--name")
    _add(sub, "delete", advertisers_delete, "delete an advertiser without campaigns or creatives").add_argument("id")


def _campaigns(root: Any) -> None:
    sub = _group(root, "campaigns", "campaigns")
    p = _add(sub, "create", campaigns_create, "create a campaign")
    p.add_argument("--advertiser", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--budget-micros", type=int, required=True)
    p.add_argument("--start", required=True, help="flight start, ISO 8601 (UTC when no zone)")
    p.add_argument("--end", required=True, help="flight end, ISO 8601 (UTC when no zone)")
    p.add_argument("--cap", type=int, default=0, help="most ads of this campaign per cart session, 0 = no cap")
    p.add_argument("--paused", action="store_true", help="create it paused")
    p.add_argument("--id")
    _add(sub, "list", campaigns_list, "list campaigns").add_argument("--advertiser")
    _add(sub, "get", campaigns_get, "show one campaign").add_argument("id")
    p = _add(sub, "update", campaigns_update, "change a campaign")
    p.add_argument("id")
    p.add_argument("--name")
    p.add_argument("--budget-micros", type=int)
    p.add_argument("--start")
    p.add_argument("--end")
    p.add_argument("--cap", type=int, help="most ads of this campaign per cart session, 0 = no cap")
    _add(sub, "pause", campaigns_pause, "pause a campaign").add_argument("id")
    _add(sub, "resume", campaigns_resume, "resume a campaign (not once it has ended)").add_argument("id")
    _add(sub, "delete", campaigns_delete, "delete a campaign without line items").add_argument("id")


def _line_items(root: Any) -> None:
    sub = _group(root, "line-items", "line items")
    p = _add(sub, "create", line_items_create, "create a line item")
    p.add_argument("--campaign", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--pricing", required=True, choices=sorted(PRICING))
    p.add_argument("--bid-micros", type=int, required=True, help="per thousand impressions (cpm) or per click (cpc)")
    p.add_argument("--creative", action="append", help="creative id (repeatable)")
    _add_serving(p, creating=True)
    p.add_argument("--paused", action="store_true")
    p.add_argument("--id")
    _add_targeting(p)
    _add(sub, "list", line_items_list, "list line items").add_argument("--campaign")
    _add(sub, "get", line_items_get, "show one line item").add_argument("id")
    p = _add(sub, "update", line_items_update, "change a line item; a repeatable flag replaces its whole list")
    p.add_argument("id")
    p.add_argument("--name")
    p.add_argument("--pricing", choices=sorted(PRICING))
    p.add_argument("--bid-micros", type=int)
    p.add_argument("--creative", action="append", help="creative id (repeatable; replaces the list)")
    _add_serving(p, creating=False)
    _add_targeting(p)
    p.add_argument("--run-of-store", action="store_true", help="clear all targeting")
    _add(sub, "pause", line_items_pause, "pause a line item").add_argument("id")
    _add(sub, "resume", line_items_resume, "resume a line item (not once its campaign has ended)").add_argument("id")
    _add(sub, "delete", line_items_delete, "delete a line item").add_argument("id")


def _creatives(root: Any) -> None:
    sub = _group(root, "creatives", "creatives")
    p = _add(sub, "create", creatives_create, "create a creative")
    p.add_argument("--advertiser", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--format", choices=sorted(FORMATS), default="sponsored-product")
    p.add_argument("--headline")
    p.add_argument("--body")
    p.add_argument("--image", metavar="FILE", help="upload this image (PNG, JPEG, SVG) and show it")
    p.add_argument("--image-sha256", help="show this uploaded asset (see assets upload)")
    p.add_argument(
        "--recipe-product", action="append", metavar="PRODUCT_ID", help="a recipe's product (repeat, 2 or more)"
    )
    p.add_argument("--product", help="promoted product id")
    p.add_argument("--cta", help="call to action")
    p.add_argument("--offer", help="coupon offer text")
    p.add_argument("--coupon-code")
    p.add_argument("--image-url", help="an image URL instead of an uploaded asset")
    p.add_argument("--id")
    p = _add(sub, "update", creatives_update, "change a creative")
    p.add_argument("id")
    p.add_argument("--name")
    p.add_argument("--format", choices=sorted(FORMATS))
    p.add_argument("--headline")
    p.add_argument("--body")
    p.add_argument("--image", metavar="FILE", help="upload this image and show it")
    p.add_argument("--image-sha256", help="show this uploaded asset ('' for none)")
    p.add_argument("--image-url")
    p.add_argument("--recipe-product", action="append", metavar="PRODUCT_ID", help="replaces the recipe's products")
    p.add_argument("--product", help="promoted product id")
    p.add_argument("--cta", help="call to action")
    p.add_argument("--offer", help="coupon offer text")
    p.add_argument("--coupon-code")
    _add(sub, "list", creatives_list, "list creatives").add_argument("--advertiser")
    _add(sub, "get", creatives_get, "show one creative").add_argument("id")
    _add(sub, "delete", creatives_delete, "delete a creative no line item uses").add_argument("id")


def _stores(root: Any) -> None:
    sub = _group(root, "stores", "stores")
    p = _add(sub, "create", stores_create, "create a store")
    p.add_argument("--id")
    p.add_argument("--name", required=True)
    p.add_argument("--tz", default="UTC", help="IANA time zone, e.g. America/Chicago")
    _add(sub, "list", stores_list, "list stores")
    _add(sub, "get", stores_get, "show one store").add_argument("id")
    p = _add(sub, "update", stores_update, "change a store")
    p.add_argument("id")
    p.add_argument("--name")
    p.add_argument("--tz")
    _add(sub, "delete", stores_delete, "delete a store no line item targets").add_argument("id")


def _catalog(root: Any) -> None:
    sub = _group(root, "catalog", "store catalogs")
    p = _add(sub, "import", catalog_import, "import products.csv, aisles.csv and departments.csv (Instacart layout)")
    p.add_argument("--store", required=True)
    p.add_argument("--instacart", required=True, metavar="DIR")
    _add(sub, "products", catalog_products, "list a store's products").add_argument("--store", required=True)
    _add(sub, "aisles", catalog_aisles, "list a store's aisles").add_argument("--store", required=True)


def _report(root: Any) -> None:
    sub = _group(root, "report", "reports")
    p = _add(sub, "spend", report_spend, "spend, impressions and clicks per campaign")
    p.add_argument("--store")
    p.add_argument("--advertiser")
    add_report_run(sub)


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
    parser = build_parser()
    args = parser.parse_args(argv)
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
        handler(stub, args)
    except grpc.RpcError as exc:
        print(f"error: {describe_rpc_error(exc)}", file=sys.stderr)
        return 2
    except (UsageError, OSError) as exc:
        # OSError: a file named on the command line (an image, a catalog directory) cannot be read.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        channel.close()
    return 0


def _with_timeout(stub: Stub, timeout_s: float) -> None:
    """Give every call on the stub a deadline, so an unreachable cloud fails instead of hanging."""
    for name in admin_pb2.DESCRIPTOR.services_by_name["AdminService"].methods_by_name:
        call = getattr(stub, name)

        def bound(request: Any, _call: Any = call) -> Any:
            return _call(request, timeout=timeout_s)

        setattr(stub, name, bound)


if __name__ == "__main__":
    sys.exit(main())
