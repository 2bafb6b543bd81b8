"""``cartads-admin dead-letters list``: events refused for billing, with why."""

from __future__ import annotations

import argparse

from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin_cli.command import Stub, Subcommands, UsageError, add_command, add_group, list_all
from cloud_core.admin_cli.output import emit

COLUMNS = ["edge_id", "seq", "event_id", "event_type", "reason", "create_time"]


def dead_letters_list(stub: Stub, args: argparse.Namespace) -> None:
    """Print a store's dead letters, oldest first."""
    request = admin_pb2.ListDeadLettersRequest(
        store_id=args.store,
        page_size=1000,
        edge_id=args.edge or "",
        reason_code=_reason(args.reason),  # type: ignore[arg-type]
    )
    rows: list[admin_pb2.DeadLetter] = list_all(stub.ListDeadLetters, request, "dead_letters")
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


def _reason(name: str | None) -> int:
    """A DeadLetterReason by its short name (price_above_terms) or full name; 0 for none."""
    if not name:
        return 0
    full = "DEAD_LETTER_REASON_" + name.upper().removeprefix("DEAD_LETTER_REASON_")
    names = list(admin_pb2.DeadLetterReason.keys())
    if full not in names:
        known = ", ".join(k.removeprefix("DEAD_LETTER_REASON_").lower() for k in names[1:])
        raise UsageError(f"--reason must be one of {known}")
    return int(admin_pb2.DeadLetterReason.Value(full))


def _by_type(rows: list[admin_pb2.DeadLetter]) -> dict[int, int]:
    out: dict[int, int] = {}
    for r in rows:
        out[r.event_type] = out.get(r.event_type, 0) + 1
    return out


def register(root: Subcommands) -> None:
    group = add_group(root, "dead-letters", "events refused for billing")
    text = "a store's dead letters, with the reason each was refused"
    listing = add_command(group, "list", dead_letters_list, text)
    listing.add_argument("--store", required=True)
    listing.add_argument("--edge", help="only events uploaded by this edge")
    listing.add_argument("--reason", help="only this reason, e.g. price_above_terms")
