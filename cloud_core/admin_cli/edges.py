"""``cartads-admin edges list|revoke-key|clear-flag``: each edge's index sync status, its signing keys
and whether it uploaded forged charges; revoking a key, clearing a flag."""

from __future__ import annotations

import argparse

from google.protobuf.timestamp_pb2 import Timestamp

from cartads.v1 import admin_pb2
from cloud_core.admin_cli.command import Stub, Subcommands, add_command, add_group, list_all
from cloud_core.admin_cli.output import emit, emit_json_or, print_table

COLUMNS = [
    "store_id",
    "edge_id",
    "connected",
    "in_sync",
    "applied",
    "current",
    "last_answer",
    "last_seen",
    "error",
    "flagged",
    "keys",
    "ivt_disagreements",
]


def _short(version: str) -> str:
    return version[:12]


def _time(ts: Timestamp) -> str:
    return ts.ToJsonString() if ts.seconds or ts.nanos else ""


def _flag(edge: admin_pb2.EdgeStatus) -> str:
    """FLAGGED <reason> x<count> while flagged; cleared x<count> after an admin cleared it."""
    if edge.flagged:
        return f"FLAGGED {edge.flag_reason} x{edge.flag_count}"
    return f"cleared x{edge.flag_count}" if edge.flag_count else ""


def edge_row(edge: admin_pb2.EdgeStatus) -> list[str]:
    """One table row: versions shortened to 12 hex digits, as git does."""
    in_sync = bool(edge.current_version) and edge.applied_version == edge.current_version
    return [
        edge.store_id,
        edge.edge_id,
        "yes" if edge.connected else "no",
        "yes" if in_sync else "no",
        _short(edge.applied_version),
        _short(edge.current_version),
        edge.last_answer,
        _time(edge.last_seen_time),
        edge.last_error,
        _flag(edge),
        ",".join(k.key_id + (" (revoked)" if k.HasField("revoke_time") else "") for k in edge.signing_keys),
        str(edge.ivt_disagreements),
    ]


def edges_list(stub: Stub, args: argparse.Namespace) -> None:
    """Print every edge (of one store with --store)."""
    request = admin_pb2.ListEdgesRequest(store_id=args.store or "", page_size=500)
    edges: list[admin_pb2.EdgeStatus] = list_all(stub.ListEdges, request, "edges")
    if args.json:
        emit(args, edges, COLUMNS)
        return
    print_table([COLUMNS] + [edge_row(e) for e in edges])


def edges_revoke_key(stub: Stub, args: argparse.Namespace) -> None:
    """Revoke one signing key: tokens under it received from now on are not billed."""
    response = stub.RevokeEdgeSigningKey(admin_pb2.RevokeEdgeSigningKeyRequest(key_id=args.key_id))
    key = response.key
    emit_json_or(args, key, f"revoked key {key.key_id} of edge {key.edge_id} (store {key.store_id})")


def edges_clear_flag(stub: Stub, args: argparse.Namespace) -> None:
    """Clear an edge's flag once its forged charges are explained (the count stays)."""
    response = stub.ClearEdgeFlag(admin_pb2.ClearEdgeFlagRequest(store_id=args.store, edge_id=args.edge))
    edge = response.edge
    emit_json_or(args, edge, f"cleared the flag of edge {edge.edge_id} (flagged {edge.flag_count} times so far)")


def register(root: Subcommands) -> None:
    group = add_group(root, "edges", "edge nodes", "edge nodes and their index sync status")
    text = "each edge's index version, last ACK/NACK and whether it is connected"
    add_command(group, "list", edges_list, text).add_argument("--store", help="only this store's edges")
    revoke = add_command(group, "revoke-key", edges_revoke_key, "refuse tokens signed with an edge's key from now on")
    revoke.add_argument("key_id", help="the key's 16 hex characters, as edges list shows them")
    clear = add_command(group, "clear-flag", edges_clear_flag, "clear an edge's forged-charge flag")
    clear.add_argument("--store", required=True)
    clear.add_argument("--edge", required=True)
