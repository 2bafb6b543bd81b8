"""``cartads-admin edges list``: each edge's index sync status."""

from __future__ import annotations

import argparse
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from cartads.v1 import admin_pb2, admin_pb2_grpc

COLUMNS = ["store_id", "edge_id", "connected", "in_sync", "applied", "current", "last_answer", "last_seen", "error"]


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
    ]


def edges_list(stub: admin_pb2_grpc.AdminServiceStub, args: argparse.Namespace) -> None:
    """Print every edge (of one store with --store), following pages."""
    request = admin_pb2.ListEdgesRequest(store_id=args.store or "", page_size=500)
    edges: list[admin_pb2.EdgeStatus] = []
    while True:
        response = stub.ListEdges(request)
        edges.extend(response.edges)
        if not response.next_page_token:
            break
        request.page_token = response.next_page_token
    if args.json:
        rows = [json_format.MessageToDict(e, preserving_proto_field_name=True) for e in edges]
        print(json.dumps(rows, indent=2, sort_keys=True))
        return
    table = [COLUMNS] + [edge_row(e) for e in edges]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def add_edges_group(root: Any) -> None:
    """Register ``edges list`` on the cartads-admin subcommand parser."""
    parser = root.add_parser("edges", help="edge nodes", description="edge nodes and their index sync status")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    text = "each edge's index version, last ACK/NACK and whether it is connected"
    listing = sub.add_parser("list", help=text, description=text)
    listing.add_argument("--store", help="only this store's edges")
    listing.set_defaults(handler=edges_list)
