"""``cartads-admin dead-letters list``: events refused for billing, with why."""

from __future__ import annotations

import argparse
from typing import Any

from cartads.v1 import admin_pb2, admin_pb2_grpc, common_pb2
from cloud_core.admin_cli.commands import emit

COLUMNS = ["edge_id", "seq", "event_id", "event_type", "reason", "create_time"]


def _all_dead_letters(stub: admin_pb2_grpc.AdminServiceStub, store_id: str) -> list[admin_pb2.DeadLetter]:
    request = admin_pb2.ListDeadLettersRequest(store_id=store_id, page_size=1000)
    rows: list[admin_pb2.DeadLetter] = []
    while True:
        response = stub.ListDeadLetters(request)
        rows.extend(response.dead_letters)
        if not response.next_page_token:
            return rows
        request.page_token = response.next_page_token


def dead_letters_list(stub: admin_pb2_grpc.AdminServiceStub, args: argparse.Namespace) -> None:
    """Print a store's dead letters, oldest first."""
    rows = _all_dead_letters(stub, args.store)
    if args.json:
        emit(args, rows, COLUMNS)
        return
    table = [
        admin_pb2.DeadLetter(
            edge_id=r.edge_id, seq=r.seq, event_id=r.event_id, reason=r.reason, create_time=r.create_time
        )
        for r in rows
    ]
    emit(args, table, [c for c in COLUMNS if c != "event_type"])
    print(
        f"dead_letters={len(rows)} "
        + " ".join(
            f"{common_pb2.EventType.Name(t).removeprefix('EVENT_TYPE_').lower()}={n}"
            for t, n in sorted(_by_type(rows).items())
        )
    )


def _by_type(rows: list[admin_pb2.DeadLetter]) -> dict[int, int]:
    out: dict[int, int] = {}
    for r in rows:
        out[r.event_type] = out.get(r.event_type, 0) + 1
    return out


def add_dead_letters_group(root: Any) -> None:
    """Register ``dead-letters list`` on the cartads-admin parser."""
    group = root.add_parser("dead-letters", help="events refused for billing", description="events refused for billing")
    sub = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="a store's dead letters, with the reason each was refused")
    p.set_defaults(handler=dead_letters_list)
    p.add_argument("--store", required=True)
