"""``cartads-admin advertisers create|list|get|update|delete``."""

from __future__ import annotations

import argparse

from google.protobuf.field_mask_pb2 import FieldMask

from cartads.v1 import admin_pb2
from cloud_core.admin_cli.command import Stub, Subcommands, add_command, add_group, given_paths, list_all
from cloud_core.admin_cli.output import emit

COLUMNS = ["advertiser_id", "display_name", "create_time"]


def advertisers_create(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.CreateAdvertiserRequest(
        advertiser_id=args.id or "", advertiser=admin_pb2.Advertiser(display_name=args.name)
    )
    emit(args, [stub.CreateAdvertiser(req).advertiser], COLUMNS, single=True)


def advertisers_list(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, list_all(stub.ListAdvertisers, admin_pb2.ListAdvertisersRequest(page_size=1000), "advertisers"), COLUMNS)


def advertisers_get(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.GetAdvertiser(admin_pb2.GetAdvertiserRequest(advertiser_id=args.id)).advertiser], COLUMNS, True)


def advertisers_update(stub: Stub, args: argparse.Namespace) -> None:
    adv = admin_pb2.Advertiser(advertiser_id=args.id, display_name=args.name or "")
    mask = FieldMask(paths=given_paths(args, {"name": "display_name"}))
    response = stub.UpdateAdvertiser(admin_pb2.UpdateAdvertiserRequest(advertiser=adv, update_mask=mask))
    emit(args, [response.advertiser], COLUMNS, True)


def advertisers_delete(stub: Stub, args: argparse.Namespace) -> None:
    stub.DeleteAdvertiser(admin_pb2.DeleteAdvertiserRequest(advertiser_id=args.id))
    print(f"deleted advertiser {args.id}")


def register(root: Subcommands) -> None:
    group = add_group(root, "advertisers", "advertisers")
    p = add_command(group, "create", advertisers_create, "create an advertiser")
    p.add_argument("--name", required=True)
    p.add_argument("--id", help="advertiser id (server-made when omitted)")
    add_command(group, "list", advertisers_list, "list advertisers")
    add_command(group, "get", advertisers_get, "show one advertiser").add_argument("id")
    p = add_command(group, "update", advertisers_update, "rename an advertiser")
    p.add_argument("id")
    p.add_argument("--name")
    add_command(
        group, "delete", advertisers_delete, "delete an advertiser without campaigns or creatives"
    ).add_argument("id")
