"""``cartads-admin carts enroll|list|update|revoke``: carts enrolled to a store, and their credentials.

``enroll`` shows each credential once: in the file ``--out`` names (mode 0600, the format of
``cartads.credential_file``, which ``cartads-cart`` reads), else on stdout. Whatever goes wrong
half-way through ``--count``, the credentials already issued are written or printed, never lost.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import IO

import grpc
from google.protobuf.field_mask_pb2 import FieldMask

from cartads import credential_file
from cartads.credential_file import CartCredentialEntry
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin_cli.command import Stub, Subcommands, UsageError, add_command, add_group, given_paths, list_all
from cloud_core.admin_cli.output import emit, print_table

CLASSES = {
    "production": common_pb2.CART_TRAFFIC_CLASS_PRODUCTION,
    "test": common_pb2.CART_TRAFFIC_CLASS_TEST,
    "staff": common_pb2.CART_TRAFFIC_CLASS_STAFF,
}
COLUMNS = ["store_id", "cart_id", "display_name", "traffic_class", "credential_id", "create_time", "revoke_time"]
# Carts one `enroll --count` makes: a store's fleet, not a flood.
MAX_COUNT = 10_000


def cart_ids(args: argparse.Namespace) -> list[str]:
    """The carts to enrol: ``--cart``, or ``--count`` ids ``<prefix>000`` and on (the simulator's numbering)."""
    if args.count is None:
        if args.prefix is not None:
            raise UsageError("--prefix goes with --count")
        if not args.cart:
            raise UsageError("give --cart, or --count (with --prefix) for several carts")
        return [args.cart]
    if args.cart:
        raise UsageError("give --cart or --count, not both")
    if not 1 <= args.count <= MAX_COUNT:
        raise UsageError(f"--count must be between 1 and {MAX_COUNT}")
    width = max(3, len(str(args.count - 1)))
    prefix = "cart-" if args.prefix is None else args.prefix
    return [f"{prefix}{n:0{width}d}" for n in range(args.count)]


def carts_enroll(stub: Stub, args: argparse.Namespace) -> None:
    ids = cart_ids(args)
    out: IO[str] | None = None
    if args.out:
        try:
            out = credential_file.create(args.out)
        except FileExistsError:
            raise UsageError(f"{args.out} exists; enrolling will not overwrite it (it may hold credentials)") from None
    entries: list[CartCredentialEntry] = []
    carts: list[admin_pb2.Cart] = []
    try:
        for cart_id in ids:
            cart = admin_pb2.Cart(
                store_id=args.store, cart_id=cart_id, display_name=args.name or "", traffic_class=CLASSES[args.cls]
            )
            response = stub.CreateCart(admin_pb2.CreateCartRequest(cart=cart))
            carts.append(response.cart)
            entries.append(CartCredentialEntry(args.store, response.cart.cart_id, response.credential))
    except grpc.RpcError:
        if entries:
            print(f"enrolled {len(entries)} of {len(ids)} carts before the error", file=sys.stderr)
        raise
    finally:
        # Issued credentials are shown (once) even when a later cart failed: they exist now.
        _hand_over(args, out, entries, as_list=args.count is not None)
    if out is not None:
        emit(args, carts, COLUMNS)


def _hand_over(
    args: argparse.Namespace, out: IO[str] | None, entries: list[CartCredentialEntry], *, as_list: bool
) -> None:
    if out is None:
        if entries:
            if as_list or args.json:
                print(credential_file.dumps(entries, as_list=as_list), end="")
            else:
                print(entries[0].credential)
            print("the credentials above are shown only this once", file=sys.stderr)
        return
    with out:
        if entries:
            credential_file.write(out, entries, as_list=as_list)
    if entries:
        print(f"wrote {len(entries)} credential(s) to {args.out} (mode 0600)", file=sys.stderr)
    else:
        os.unlink(args.out)


def _emit_carts(args: argparse.Namespace, carts: list[admin_pb2.Cart], single: bool = False) -> None:
    if args.json:
        emit(args, carts, COLUMNS, single)
        return
    # Classes as the words `--class` takes.
    names = {v: k for k, v in CLASSES.items()}
    table = [COLUMNS] + [
        [
            c.store_id,
            c.cart_id,
            c.display_name,
            names.get(c.traffic_class, str(c.traffic_class)),
            c.credential_id,
            c.create_time.ToJsonString(),
            c.revoke_time.ToJsonString() if c.HasField("revoke_time") else "",
        ]
        for c in carts
    ]
    print_table(table)


def carts_list(stub: Stub, args: argparse.Namespace) -> None:
    request = admin_pb2.ListCartsRequest(store_id=args.store, page_size=1000, show_revoked=args.show_revoked)
    _emit_carts(args, list_all(stub.ListCarts, request, "carts"))


def carts_update(stub: Stub, args: argparse.Namespace) -> None:
    paths = given_paths(args, {"name": "display_name", "cls": "traffic_class"})
    if not paths:
        raise UsageError("nothing to update: give --name or --class")
    cart = admin_pb2.Cart(store_id=args.store, cart_id=args.cart, display_name=args.name or "")
    if args.cls is not None:
        cart.traffic_class = CLASSES[args.cls]
    request = admin_pb2.UpdateCartRequest(cart=cart, update_mask=FieldMask(paths=paths))
    _emit_carts(args, [stub.UpdateCart(request).cart], single=True)


def carts_revoke(stub: Stub, args: argparse.Namespace) -> None:
    cart = stub.RevokeCart(admin_pb2.RevokeCartRequest(store_id=args.store, cart_id=args.cart)).cart
    _emit_carts(args, [cart], single=True)


def register(root: Subcommands) -> None:
    """Admin tokens enrol, change and revoke; viewer tokens may list."""
    group = add_group(root, "carts", "carts enrolled to stores", "carts enrolled to stores and their credentials")
    p = add_command(group, "enroll", carts_enroll, "enrol carts; shows each credential once")
    p.add_argument("--store", required=True)
    p.add_argument("--cart", help="the cart's id")
    p.add_argument("--count", type=int, help="enrol this many carts, <prefix>000 and on")
    p.add_argument("--prefix", help="cart id prefix with --count (default cart-)")
    p.add_argument("--name", help="display name")
    p.add_argument("--class", dest="cls", choices=sorted(CLASSES), default="production", help="traffic class")
    p.add_argument("--out", metavar="FILE", help="write the credential(s) to this new file (mode 0600)")
    p = add_command(group, "list", carts_list, "a store's enrolled carts (never a credential)")
    p.add_argument("--store", required=True)
    p.add_argument("--show-revoked", action="store_true", help="revoked carts too")
    p = add_command(group, "update", carts_update, "change a cart's display name or traffic class")
    p.add_argument("--store", required=True)
    p.add_argument("--cart", required=True)
    p.add_argument("--name")
    p.add_argument("--class", dest="cls", choices=sorted(CLASSES))
    p = add_command(group, "revoke", carts_revoke, "revoke a cart's credential; its edge refuses it within seconds")
    p.add_argument("--store", required=True)
    p.add_argument("--cart", required=True)
