"""``cartads-admin tokens create|list|revoke``: bearer tokens for operators, advertisers and edges; and
``cartads-admin audit list``: who changed what with them."""

from __future__ import annotations

import argparse
import sys

from cartads.v1 import admin_pb2
from cloud_core.admin_cli.command import Stub, Subcommands, UsageError, add_command, add_group, list_all, parse_time
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


AUDIT_COLUMNS = ["time", "actor", "role", "method", "resource", "changes"]
MAX_AUDIT_LIMIT = 10_000


def _change_text(entry: admin_pb2.AuditEntry) -> str:
    """Each changed field as ``field: before -> after`` (``-`` where there was no value)."""
    return "; ".join(f"{c.field}: {c.before or '-'} -> {c.after or '-'}" for c in entry.changes)


def audit_list(stub: Stub, args: argparse.Namespace) -> None:
    """The newest ``--limit`` entries that match every filter given, newest first."""
    if not 1 <= args.limit <= MAX_AUDIT_LIMIT:
        raise UsageError(f"--limit must be between 1 and {MAX_AUDIT_LIMIT}")
    request = admin_pb2.ListAuditEntriesRequest(
        page_size=min(args.limit, 1000),
        resource_type=args.resource_type or "",
        resource_id=args.resource_id or "",
        actor_token_id=args.actor or "",
    )
    if args.since:
        request.since_time.CopyFrom(parse_time(args.since))
    entries: list[admin_pb2.AuditEntry] = []
    while len(entries) < args.limit:
        response = stub.ListAuditEntries(request)
        entries.extend(response.audit_entries)
        if not response.next_page_token:
            break
        request.page_token = response.next_page_token
    entries = entries[: args.limit]
    if args.json:
        emit(args, entries, AUDIT_COLUMNS)
        return
    rows = [
        [
            e.time.ToJsonString(),
            f"{e.actor_token_id} ({e.actor_display_name})" if e.actor_display_name else e.actor_token_id,
            e.actor_role,
            e.method,
            f"{e.resource_type} {e.resource_id}",
            _change_text(e),
        ]
        for e in entries
    ]
    print_table([AUDIT_COLUMNS, *rows])


def register_audit(root: Subcommands) -> None:
    """Admin and viewer tokens: the cloud refuses an advertiser's."""
    group = add_group(root, "audit", "the audit trail", "who changed what, newest first (admin or viewer token)")
    p = add_command(group, "list", audit_list, "audit entries, newest first, matching every filter given")
    p.add_argument("--resource-type", help="e.g. campaign, line_item, creative, api_token, cart, store")
    p.add_argument("--resource-id")
    p.add_argument("--actor", metavar="TOKEN_ID", help="changes made with this token")
    p.add_argument("--since", metavar="TIME", help="entries at or after this ISO 8601 time (UTC when no zone)")
    p.add_argument("--limit", type=int, default=100, help="at most this many entries (default 100)")
