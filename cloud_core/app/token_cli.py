"""``cartads-cloud create-token``: mint a token directly in the database, e.g. the very first admin token.

AdminService.CreateApiToken needs an admin token, so the first one cannot come through the API; this
command needs only access to the database (the same trust as running the cloud itself). The token
is recorded in the audit trail like one AdminService issues, its actor "local" (the server's shell).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence

from google.protobuf import json_format

from cartads.rpc.errors import CartAdsError
from cartads.time_units import now_us
from cartads.v1 import admin_pb2
from cloud_core.access.api_tokens import issue_token
from cloud_core.access.policy import Role, validate_new_token
from cloud_core.storage.sql.database import Database, DatabaseOpenError
from cloud_core.storage.tokens import SqlTokens

DEFAULT_DB = "./cartads-cloud.sqlite3"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cartads-cloud create-token",
        description="Create a bearer token directly in the cloud's database and print its secret (once).",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("CARTADS_DB", DEFAULT_DB),
        help="SQLite file or postgresql:// DSN (env CARTADS_DB; default %(default)s)",
    )
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--advertiser", default="", help="the advertiser an advertiser token is bound to")
    parser.add_argument("--store", default="", help="the store an edge token is bound to")
    parser.add_argument("--display-name", default="", help="who or what the token is for")
    parser.add_argument("--id", default="", help="token id (server-made when omitted)")
    parser.add_argument("--json", action="store_true", help="print the token and its secret as one JSON object")
    return parser


async def _create(args: argparse.Namespace) -> int:
    role = Role(args.role)
    violations = validate_new_token(role, args.advertiser, args.store)
    if violations:
        flags = {"api_token.advertiser_id": "--advertiser", "api_token.store_id": "--store"}
        for field, why in violations:
            print(f"error: {flags.get(field, field)}: {why}", file=sys.stderr)
        return 2
    db = await Database.open(args.db)
    try:
        tokens = SqlTokens(db)
        advertiser_ok, store_ok = await tokens.binding_exists(args.advertiser, args.store)
        if not advertiser_ok:
            print(f"error: NOT_FOUND: advertiser {args.advertiser!r} does not exist", file=sys.stderr)
            return 2
        if not store_ok:
            print(f"error: NOT_FOUND: store {args.store!r} does not exist", file=sys.stderr)
            return 2
        record, secret = await issue_token(
            tokens,
            role,
            now_us(),
            advertiser_id=args.advertiser,
            store_id=args.store,
            display_name=args.display_name,
            token_id=args.id,
            # Recorded with the token, in its transaction; the actor is the server's own shell.
            audit=admin_pb2.AuditEntry(
                actor_token_id="local",
                actor_display_name="cartads-cloud create-token",
                actor_role="local",
                method="cartads-cloud create-token",
            ),
        )
    finally:
        await db.close()
    if args.json:
        token = json_format.MessageToDict(record.to_proto(), preserving_proto_field_name=True)
        print(json.dumps({"api_token": token, "secret": secret}, sort_keys=True))
    else:
        print(secret)
        print(
            f"created {role.value} token {record.token_id}; the secret above is shown only this once",
            file=sys.stderr,
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_create(args))
    except (DatabaseOpenError, CartAdsError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
