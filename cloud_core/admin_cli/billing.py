"""What became of the carts' events in billing: ``cartads-admin dead-letters list`` (events refused for
billing, with why) and ``cartads-admin billing reconcile --reported FILE`` (what carts reported against
what the cloud made of it, AdminService.CountCartEvents, per event type, waiting a while for edges
still uploading).

Reconciled means every event the carts reported reached the cloud; the cloud then says of each what
it became: billed, kept as invalid traffic (never billed), refused, or recorded with nothing to bill.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cartads.reported_file import CartReported, ReportedEvents, ReportedFileError, read_reported
from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin_cli.command import Stub, Subcommands, UsageError, add_command, add_group, list_all
from cloud_core.admin_cli.output import emit, table_lines

_IMPRESSION, _CLICK = common_pb2.EVENT_TYPE_IMPRESSION, common_pb2.EVENT_TYPE_CLICK
# Made by the edge from a basket add after an ad: no cart reports one.
_EDGE_MADE = frozenset({common_pb2.EVENT_TYPE_CONVERSION})
OUTCOMES = ("billed", "over_budget", "invalid", "rejected", "duplicate_decisions", "recorded")
_POLL_S = 0.5


@dataclass(frozen=True)
class Line:
    """One kind of event: what the carts reported and what the cloud holds of it, by outcome."""

    kind: str
    reported: int
    received: int
    outcomes: dict[str, int]

    @property
    def missing(self) -> int:
        """Reported but not (yet) in the cloud: still in an edge's journal, or lost."""
        return max(0, self.reported - self.received)


def _add(counts: Iterable[admin_pb2.CartEventCount]) -> tuple[int, dict[str, int]]:
    rows = list(counts)
    return sum(r.received for r in rows), {o: sum(getattr(r, o) for r in rows) for o in OUTCOMES}


def reconcile(reported: CartReported, counts: Sequence[admin_pb2.CartEventCount]) -> list[Line]:
    """Impressions, clicks and every cart event: reported against the cloud's counts."""
    lines = []
    for kind, wanted, of_kind in (
        ("impressions", reported.impressions, lambda t: t == _IMPRESSION),
        ("clicks", reported.clicks, lambda t: t == _CLICK),
        ("all cart events", reported.events, lambda t: t not in _EDGE_MADE),
    ):
        received, outcomes = _add(c for c in counts if of_kind(c.event_type))
        lines.append(Line(kind, wanted, received, outcomes))
    return lines


def carts_short(reported: ReportedEvents, counts: Sequence[admin_pb2.CartEventCount]) -> list[tuple[str, int]]:
    """The carts whose reported events the cloud does not all hold yet, with how many are missing."""
    received: dict[str, int] = {}
    for c in counts:
        if c.event_type not in _EDGE_MADE:
            received[c.cart_id] = received.get(c.cart_id, 0) + c.received
    short = [(cart_id, r.events - received.get(cart_id, 0)) for cart_id, r in sorted(reported.carts.items())]
    return [(cart_id, n) for cart_id, n in short if n > 0]


def reconciled(lines: Sequence[Line], short: Sequence[tuple[str, int]]) -> bool:
    """Every cart's reported events, and every kind's, are in the cloud."""
    return not short and not any(ln.missing for ln in lines)


def render(reported: ReportedEvents, lines: Sequence[Line], short: Sequence[tuple[str, int]]) -> str:
    """The reconciliation as a table and a verdict."""
    header = ["events", "reported", "in_cloud", "missing", *OUTCOMES]
    rows = [
        [ln.kind, str(ln.reported), str(ln.received), str(ln.missing)] + [str(ln.outcomes[o]) for o in OUTCOMES]
        for ln in lines
    ]
    out = table_lines([header, *rows])
    first = f"{len(reported.carts)} carts of store {reported.store_id} since {reported.start_time.isoformat()}"
    out.insert(0, first)
    if not reconciled(lines, short):
        kinds = ", ".join(f"{ln.kind} {ln.missing}" for ln in lines if ln.missing)
        carts = ", ".join(f"{cart_id} ({n})" for cart_id, n in short[:10])
        more = f" and {len(short) - 10} more" if len(short) > 10 else ""
        out.append(
            f"NOT RECONCILED: reported events not in the cloud: {kinds}"
            + (f"; from {carts}{more}" if carts else "")
            + "; an edge may still hold them (cartads-admin edges list)"
        )
    else:
        billed = lines[0].outcomes["billed"] + lines[1].outcomes["billed"]
        over = lines[0].outcomes["over_budget"] + lines[1].outcomes["over_budget"]
        out.append(
            f"reconciled: every reported event is in the cloud; {billed} impressions and clicks billed,"
            + (f" {over} delivered past their budget at no charge," if over else "")
            + f" {lines[0].outcomes['invalid'] + lines[1].outcomes['invalid']} kept as invalid traffic (never billed)"
        )
    return "\n".join(out)


def _counts(stub: Stub, reported: ReportedEvents) -> list[admin_pb2.CartEventCount]:
    request = admin_pb2.CountCartEventsRequest(store_id=reported.store_id, cart_ids=sorted(reported.carts))
    request.start_time.CopyFrom(dt_to_ts(reported.start_time))
    return list(stub.CountCartEvents(request).counts)


def billing_reconcile(stub: Stub, args: argparse.Namespace) -> int:
    """Print the reconciliation; 1 when reported events are still missing after --wait-s."""
    try:
        reported = read_reported(Path(args.reported))
    except ReportedFileError as exc:
        raise UsageError(str(exc)) from exc
    if not reported.carts:
        raise UsageError(f"{args.reported} names no cart")
    deadline = time.monotonic() + args.wait_s
    while True:
        counts = _counts(stub, reported)
        short = carts_short(reported, counts)
        lines = reconcile(reported.total(), counts)
        if reconciled(lines, short) or time.monotonic() >= deadline:
            break
        time.sleep(_POLL_S)  # an edge uploads its journal in batches, a second or so apart
    if args.json:
        body = {
            "store_id": reported.store_id,
            "carts": len(reported.carts),
            "reconciled": reconciled(lines, short),
            "carts_missing_events": dict(short),
            "lines": [
                {"events": ln.kind, "reported": ln.reported, "in_cloud": ln.received, **ln.outcomes} for ln in lines
            ],
        }
        print(json.dumps(body, indent=2, sort_keys=True))
    else:
        print(render(reported, lines, short))
    return 0 if reconciled(lines, short) else 1


DEAD_LETTER_COLUMNS = ["edge_id", "seq", "event_id", "event_type", "reason", "create_time"]


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
        emit(args, rows, DEAD_LETTER_COLUMNS)
        return
    table = [
        admin_pb2.DeadLetter(
            edge_id=r.edge_id, seq=r.seq, event_id=r.event_id, reason=r.reason, create_time=r.create_time
        )
        for r in rows
    ]
    emit(args, table, [c for c in DEAD_LETTER_COLUMNS if c != "event_type"])
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


def _register_dead_letters(root: Subcommands) -> None:
    group = add_group(root, "dead-letters", "events refused for billing")
    text = "a store's dead letters, with the reason each was refused"
    listing = add_command(group, "list", dead_letters_list, text)
    listing.add_argument("--store", required=True)
    listing.add_argument("--edge", help="only events uploaded by this edge")
    listing.add_argument("--reason", help="only this reason, e.g. price_above_terms")


def register(root: Subcommands) -> None:
    _register_dead_letters(root)
    group = add_group(root, "billing", "reconcile what carts reported with what the cloud billed")
    p = add_command(
        group, "reconcile", billing_reconcile, "compare a reported-events file (cartads-sim --reported) with billing"
    )
    p.add_argument("--reported", required=True, metavar="FILE", help="written by cartads-sim --replay --reported FILE")
    p.add_argument(
        "--wait-s", type=float, default=30.0, help="wait this long for edges still uploading (default %(default)s)"
    )
