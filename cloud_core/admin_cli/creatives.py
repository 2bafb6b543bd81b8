"""``cartads-admin creatives create|list|get|update|delete|approve|reject``."""

from __future__ import annotations

import argparse
from pathlib import Path

from google.protobuf.field_mask_pb2 import FieldMask

from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin_cli.assets import upload_file
from cloud_core.admin_cli.command import (
    Stub,
    Subcommands,
    UsageError,
    add_command,
    add_group,
    given_paths,
    list_all,
)
from cloud_core.admin_cli.output import emit

FORMATS = {
    "sponsored-product": common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
    "banner": common_pb2.CREATIVE_FORMAT_BANNER,
    "coupon": common_pb2.CREATIVE_FORMAT_COUPON,
    "recipe": common_pb2.CREATIVE_FORMAT_RECIPE,
}
COLUMNS = [
    "creative_id",
    "advertiser_id",
    "display_name",
    "format",
    "headline",
    "promoted_product_id",
    # Creative review: what the advertiser waits on, and why a rejected creative was refused.
    "review_status",
    "review_reason",
]


def creatives_create(stub: Stub, args: argparse.Namespace) -> None:
    creative = admin_pb2.CreativeSpec(
        advertiser_id=args.advertiser,
        display_name=args.name,
        format=FORMATS[args.format],
        headline=args.headline or "",
        body=args.body or "",
        image_asset_sha256=upload_file(stub, Path(args.image)).sha256 if args.image else (args.image_sha256 or ""),
        image_url=args.image_url or "",
        recipe_product_ids=args.recipe_product or [],
        promoted_product_id=args.product or "",
        call_to_action=args.cta or "",
        offer_text=args.offer or "",
        coupon_code=args.coupon_code or "",
    )
    req = admin_pb2.CreateCreativeRequest(creative_id=args.id or "", creative=creative)
    emit(args, [stub.CreateCreative(req).creative], COLUMNS, single=True)


# Creative flag -> CreativeSpec field, for creatives update.
CREATIVE_FLAGS = {
    "name": "display_name",
    "format": "format",
    "headline": "headline",
    "body": "body",
    "image_url": "image_url",
    "product": "promoted_product_id",
    "cta": "call_to_action",
    "offer": "offer_text",
    "coupon_code": "coupon_code",
    "recipe_product": "recipe_product_ids",
}


def creatives_update(stub: Stub, args: argparse.Namespace) -> None:
    """Change the fields whose flags are given (--image uploads first, like create)."""
    creative = admin_pb2.CreativeSpec(
        creative_id=args.id,
        display_name=args.name or "",
        format=FORMATS[args.format] if args.format else common_pb2.CREATIVE_FORMAT_UNSPECIFIED,
        headline=args.headline or "",
        body=args.body or "",
        image_url=args.image_url or "",
        promoted_product_id=args.product or "",
        call_to_action=args.cta or "",
        offer_text=args.offer or "",
        coupon_code=args.coupon_code or "",
        recipe_product_ids=args.recipe_product or [],
    )
    paths = given_paths(args, CREATIVE_FLAGS)
    if args.image or args.image_sha256 is not None:
        creative.image_asset_sha256 = upload_file(stub, Path(args.image)).sha256 if args.image else args.image_sha256
        paths.append("image_asset_sha256")
    if not paths:
        raise UsageError("nothing to update: give a field flag (see --help)")
    req = admin_pb2.UpdateCreativeRequest(creative=creative, update_mask=FieldMask(paths=paths))
    emit(args, [stub.UpdateCreative(req).creative], COLUMNS, True)


def creatives_list(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.ListCreativesRequest(page_size=1000, advertiser_id=args.advertiser or "")
    emit(args, list_all(stub.ListCreatives, req, "creatives"), COLUMNS)


def creatives_get(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.GetCreative(admin_pb2.GetCreativeRequest(creative_id=args.id)).creative], COLUMNS, True)


def creatives_delete(stub: Stub, args: argparse.Namespace) -> None:
    stub.DeleteCreative(admin_pb2.DeleteCreativeRequest(creative_id=args.id))
    print(f"deleted creative {args.id}")


def creatives_approve(stub: Stub, args: argparse.Namespace) -> None:
    creative = stub.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id=args.id)).creative
    emit(args, [creative], COLUMNS, True)


def creatives_reject(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.RejectCreativeRequest(creative_id=args.id, reason=args.reason)
    emit(args, [stub.RejectCreative(req).creative], COLUMNS, True)


def register(root: Subcommands) -> None:
    group = add_group(root, "creatives", "creatives")
    p = add_command(group, "create", creatives_create, "create a creative")
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
    p = add_command(group, "update", creatives_update, "change a creative")
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
    add_command(group, "list", creatives_list, "list creatives").add_argument("--advertiser")
    add_command(group, "get", creatives_get, "show one creative").add_argument("id")
    add_command(group, "delete", creatives_delete, "delete a creative no line item uses").add_argument("id")
    help_approve = "approve a creative (admin): it is served from the next index on"
    add_command(group, "approve", creatives_approve, help_approve).add_argument("id")
    p = add_command(group, "reject", creatives_reject, "reject a creative (admin), telling the advertiser why")
    p.add_argument("id")
    p.add_argument("--reason", required=True, help="shown to the advertiser")
