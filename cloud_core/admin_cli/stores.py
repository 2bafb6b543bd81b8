"""``cartads-admin stores create|list|get|update|delete`` and ``catalog import|products|aisles``."""

from __future__ import annotations

import argparse
from pathlib import Path

from google.protobuf.field_mask_pb2 import FieldMask

from cartads.sample.catalog_messages import import_catalog_requests
from cartads.sample.instacart import load_catalog
from cartads.v1 import admin_pb2
from cloud_core.admin_cli.command import (
    Stub,
    Subcommands,
    UsageError,
    add_command,
    add_group,
    given_paths,
    list_all,
)
from cloud_core.admin_cli.output import emit, emit_json_or

COLUMNS = ["store_id", "display_name", "time_zone", "create_time"]


def stores_create(stub: Stub, args: argparse.Namespace) -> None:
    store = admin_pb2.Store(display_name=args.name, time_zone=args.tz)
    response = stub.CreateStore(admin_pb2.CreateStoreRequest(store_id=args.id or "", store=store))
    emit(args, [response.store], COLUMNS, True)


def stores_list(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, list_all(stub.ListStores, admin_pb2.ListStoresRequest(page_size=1000), "stores"), COLUMNS)


def stores_get(stub: Stub, args: argparse.Namespace) -> None:
    emit(args, [stub.GetStore(admin_pb2.GetStoreRequest(store_id=args.id)).store], COLUMNS, True)


def stores_update(stub: Stub, args: argparse.Namespace) -> None:
    store = admin_pb2.Store(store_id=args.id, display_name=args.name or "", time_zone=args.tz or "")
    paths = given_paths(args, {"name": "display_name", "tz": "time_zone"})
    if not paths:
        raise UsageError("nothing to update: give --name or --tz")
    req = admin_pb2.UpdateStoreRequest(store=store, update_mask=FieldMask(paths=paths))
    emit(args, [stub.UpdateStore(req).store], COLUMNS, True)


def stores_delete(stub: Stub, args: argparse.Namespace) -> None:
    stub.DeleteStore(admin_pb2.DeleteStoreRequest(store_id=args.id))
    print(f"deleted store {args.id}")


def catalog_import(stub: Stub, args: argparse.Namespace) -> None:
    try:
        catalog = load_catalog(Path(args.instacart))
    except (OSError, KeyError, ValueError) as exc:
        raise UsageError(f"cannot read an Instacart catalog from {args.instacart}: {exc}") from exc
    response = stub.ImportCatalog(import_catalog_requests(args.store, catalog))
    emit_json_or(
        args,
        response,
        f"imported {response.aisle_count} aisles, {response.department_count} departments and "
        f"{response.product_count} products into store {args.store}",
    )


def catalog_products(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.ListProductsRequest(store_id=args.store, page_size=1000)
    cols = ["product_id", "display_name", "aisle_id", "department_id", "brand", "price_micros"]
    emit(args, list_all(stub.ListProducts, req, "products"), cols)


def catalog_aisles(stub: Stub, args: argparse.Namespace) -> None:
    req = admin_pb2.ListAislesRequest(store_id=args.store, page_size=1000)
    emit(args, list_all(stub.ListAisles, req, "aisles"), ["aisle_id", "display_name", "zone_id"])


def register(root: Subcommands) -> None:
    """The ``stores`` group, then the ``catalog`` group."""
    group = add_group(root, "stores", "stores")
    p = add_command(group, "create", stores_create, "create a store")
    p.add_argument("--id")
    p.add_argument("--name", required=True)
    p.add_argument("--tz", default="UTC", help="IANA time zone, e.g. America/Chicago")
    add_command(group, "list", stores_list, "list stores")
    add_command(group, "get", stores_get, "show one store").add_argument("id")
    p = add_command(group, "update", stores_update, "change a store")
    p.add_argument("id")
    p.add_argument("--name")
    p.add_argument("--tz")
    add_command(group, "delete", stores_delete, "delete a store no line item targets").add_argument("id")

    group = add_group(root, "catalog", "store catalogs")
    text = "import products.csv, aisles.csv and departments.csv (Instacart layout)"
    p = add_command(group, "import", catalog_import, text)
    p.add_argument("--store", required=True)
    p.add_argument("--instacart", required=True, metavar="DIR")
    add_command(group, "products", catalog_products, "list a store's products").add_argument("--store", required=True)
    add_command(group, "aisles", catalog_aisles, "list a store's aisles").add_argument("--store", required=True)
