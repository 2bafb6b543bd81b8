"""``cartads-admin tokens create|list|revoke``: bearer tokens for operators, advertisers and edges."""

from __future__ import annotations

import argparse
import sys

from cartads.v1 import admin_pb2
from cloud_core.admin_cli.command import Stub, Subcommands, add_command, add_group, list_all
from cloud_core.admin_cli.output import emit, message_json, print_table

ROLES = {
    "admin": admin_pb2.API_TOKEN_ROLE_ADMIN,
    "advertiser": admin_pb2.API_TOKEN_ROLE_ADVERTISER,
    "viewer": admin_pb2.API_TOKEN_ROLE_VIEWER,
    "edge": admin_pb2.API_TOKEN_ROLE_EDGE,
}
COLUMNS = ["token_id", "role", "advertiser_id", "store_id", "display_name", "create_time", "revoke_time"]


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
        print(message_json(response, indent=None))
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
    print_table(table)


def tokens_list(stub: Stub, args: argparse.Namespace) -> None:
    request = admin_pb2.ListApiTokensRequest(page_size=1000)
    _emit_tokens(args, list_all(stub.ListApiTokens, request, "api_tokens"))


def tokens_revoke(stub: Stub, args: argparse.Namespace) -> None:
    token = stub.RevokeApiToken(admin_pb2.RevokeApiTokenRequest(token_id=args.id)).api_token
    _emit_tokens(args, [token], single=True)


def register(root: Subcommands) -> None:
    """Admin tokens only: the cloud refuses the others."""
    group = add_group(root, "tokens", "bearer tokens", "bearer tokens (needs an admin token)")
    p = add_command(group, "create", tokens_create, "create a token; prints its secret once")
    p.add_argument("--role", required=True, choices=sorted(ROLES))
    p.add_argument("--advertiser", help="the advertiser an advertiser token may act for")
    p.add_argument("--store", help="the store an edge token may act for")
    p.add_argument("--name", help="who or what the token is for")
    p.add_argument("--id", help="token id (server-made when omitted)")
    add_command(group, "list", tokens_list, "every token (never a secret), revoked ones included")
    add_command(group, "revoke", tokens_revoke, "revoke a token; it is refused from then on").add_argument("id")
