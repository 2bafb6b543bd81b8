"""``cartads-admin edges list``: each edge's index sync status."""

from __future__ import annotations

import argparse

from google.protobuf.timestamp_pb2 import Timestamp

from cartads.v1 import admin_pb2
from cloud_core.admin_cli.command import Stub, Subcommands, add_command, add_group, list_all
from cloud_core.admin_cli.output import emit, print_table

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
    "ivt_disagreements",
]


def _short(version: str) -> str:
    return version[:12]


def _time(ts: Timestamp) -> str:
    return ts.ToJsonString() if ts.seconds or ts.nanos else ""


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


def register(root: Subcommands) -> None:
    group = add_group(root, "edges", "edge nodes", "edge nodes and their index sync status")
    text = "each edge's index version, last ACK/NACK and whether it is connected"
    add_command(group, "list", edges_list, text).add_argument("--store", help="only this store's edges")
