"""``cartads-admin tokens create|list|revoke``: bearer tokens for operators, advertisers and edges."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from google.protobuf import json_format

from cartads.v1 import admin_pb2, admin_pb2_grpc
from cloud_core.admin_cli.commands import emit

ROLES = {
    "admin": admin_pb2.API_TOKEN_ROLE_ADMIN,
    "advertiser": admin_pb2.API_TOKEN_ROLE_ADVERTISER,
    "viewer": admin_pb2.API_TOKEN_ROLE_VIEWER,
    "edge": admin_pb2.API_TOKEN_ROLE_EDGE,
}
COLUMNS = ["token_id", "role", "advertiser_id", "store_id", "display_name", "create_time", "revoke_time"]

Stub = admin_pb2_grpc.AdminServiceStub


def tokens_create(stub: Stub, args: argparse.Namespace) -> None:
    """Create a token and print its secret once: on stdout alone (or in --json), the details on stderr."""
    token = admin_pb2.ApiToken(
        role=ROLES[args.role],
        advertiser_id=args.advertiser or "",
        store_id=args.store or "",
        display_name=args.name or "",
    )
    response = stub.CreateApiToken(admin_pb2.CreateApiTokenRequest(token_id=args.id or "", api_token=token))
    if args.json:
        print(json.dumps(json_format.MessageToDict(response, preserving_proto_field_name=True), sort_keys=True))
        return
    print(response.secret)
    print(
        f"created {args.role} token {response.api_token.token_id}; the secret above is shown only this once",
        file=sys.stderr,
    )


def _emit_tokens(args: argparse.Namespace, tokens: list[admin_pb2.ApiToken], single: bool = False) -> None:
    if args.json:
        emit(args, tokens, COLUMNS, single)
        return
    # Roles as the words `--role` takes, and "revoked" where it matters.
    names = {v: k for k, v in ROLES.items()}
    table = [COLUMNS] + [
        [
            t.token_id,
            names.get(t.role, str(t.role)),
            t.advertiser_id,
            t.store_id,
            t.display_name,
            t.create_time.ToJsonString(),
            t.revoke_time.ToJsonString() if t.HasField("revoke_time") else "",
        ]
        for t in tokens
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def tokens_list(stub: Stub, args: argparse.Namespace) -> None:
    request = admin_pb2.ListApiTokensRequest(page_size=1000)
    rows: list[admin_pb2.ApiToken] = []
    while True:
        response = stub.ListApiTokens(request)
        rows.extend(response.api_tokens)
        if not response.next_page_token:
            break
        request.page_token = response.next_page_token
    _emit_tokens(args, rows)


def tokens_revoke(stub: Stub, args: argparse.Namespace) -> None:
    token = stub.RevokeApiToken(admin_pb2.RevokeApiTokenRequest(token_id=args.id)).api_token
    _emit_tokens(args, [token], single=True)


def add_tokens_group(root: Any) -> None:
    """Register ``tokens create|list|revoke`` on the cartads-admin parser (admin tokens only)."""
    group = root.add_parser("tokens", help="bearer tokens", description="bearer tokens (needs an admin token)")
    sub = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    text = "create a token; prints its secret once"
    p = sub.add_parser("create", help=text, description=text)
    p.add_argument("--role", required=True, choices=sorted(ROLES))
    p.add_argument("--advertiser", help="the advertiser an advertiser token may act for")
    p.add_argument("--store", help="the store an edge token may act for")
    p.add_argument("--name", help="who or what the token is for")
    p.add_argument("--id", help="token id (server-made when omitted)")
    p.set_defaults(handler=tokens_create)
    p = sub.add_parser("list", help="every token (never a secret), revoked ones included")
    p.set_defaults(handler=tokens_list)
    p = sub.add_parser("revoke", help="revoke a token; it is refused from then on")
    p.add_argument("id")
    p.set_defaults(handler=tokens_revoke)
