"""``cartads-admin creatives create|list|get|update|delete``."""

from __future__ import annotations

import argparse
from pathlib import Path

from google.protobuf.field_mask_pb2 import FieldMask

from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin_cli.assets import upload_file
from cloud_core.admin_cli.commands import CR_COLS, FORMATS, Stub, UsageError, _list_all, _paths, emit


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
    emit(args, [stub.CreateCreative(req).creative], CR_COLS, single=True)


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
    paths = _paths(args, CREATIVE_FLAGS)
    if args.image or args.image_sha256 is not None:
        creative.image_asset_sha256 = upload_file(stub, Path(args.image)).sha256 if args.image else args.image_sha256
        paths.append("image_asset_sha256")
    if not paths:
        raise UsageError("nothing to update: give a field flag (see --help)")
    req = admin_pb2.UpdateCreativeRequest(creative=creative, update_mask=FieldMask(paths=paths))
    emit(args, [stub.UpdateCreative(req).creative], CR_COLS, True)


def creatives_list(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.ListCreativesRequest(page_size=1000, advertiser_id=args.advertiser or "")
    emit(args, _list_all(stub.ListCreatives, req, "creatives"), CR_COLS)


def creatives_get(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.GetCreative(admin_pb2.GetCreativeRequest(creative_id=args.id)).creative], CR_COLS, True)


def creatives_delete(stub: Stub, args: argparse.Namespace) -> None:
    stub.DeleteCreative(admin_pb2.DeleteCreativeRequest(creative_id=args.id))
    print(f"deleted creative {args.id}")
