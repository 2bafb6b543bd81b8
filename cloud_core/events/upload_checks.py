"""What ingest checks of an upload before writing anything. Pure.

The structure of an upload (ids, size, seq order) is the edge's own work: when it is wrong the edge
is broken, and the upload is refused whole (INVALID_ARGUMENT). An event's content is a cart's word
passed on: an event outside its bounds is dead-lettered with the field that broke them ("malformed:
events[3].quantity must be between 0 and 999"), and the rest of the upload is billed. The cloud
never refuses a whole upload for one event's content, or the edge would resend it forever.
"""

from __future__ import annotations

from cartads import bounds
from cartads.v1 import admin_pb2, event_ingest_pb2, request_counts_pb2
from cloud_core.events.outcomes import EventOutcome

Violation = bounds.Violation


def upload_violations(request: event_ingest_pb2.UploadEventsRequest) -> list[Violation]:
    """What makes a whole upload unacceptable: its ids, its size, its seqs out of order or range."""
    out = bounds.check_id(request.store_id, "store_id", required=True)
    out += bounds.check_id(request.edge_id, "edge_id", required=True)
    if len(request.events) > bounds.MAX_EVENTS_PER_UPLOAD:
        out.append(("events", f"has more than {bounds.MAX_EVENTS_PER_UPLOAD:,} events"))
        return out
    out += bounds.check_strictly_increasing((j.seq for j in request.events), "events.seq", 1, bounds.MAX_SEQ)
    return out


def _count_rows_violations(counts: request_counts_pb2.RequestCounts, prefix: str, now_us: int) -> list[Violation]:
    rows = [
        (f"{prefix}.rows[{i}]", r.hour_start_time, {"requests": r.requests, "ads": r.ads})
        for i, r in enumerate(counts.rows)
    ]
    rows += [
        (f"{prefix}.line_items[{i}]", r.hour_start_time, {"ads": r.ads, "throttled": r.throttled})
        for i, r in enumerate(counts.line_items)
    ]
    # Counts are of hours the edge served: recent ones (an edge offline for weeks uploads them late).
    low_s = (now_us - bounds.COUNT_ROW_MAX_AGE_US) // 1_000_000
    high_s = (now_us + bounds.COUNT_ROW_MAX_AHEAD_US) // 1_000_000
    out: list[Violation] = []
    for field, hour, values in rows:
        hour_field = f"{field}.hour_start_time"
        when = bounds.check_timestamp(hour.seconds, hour.nanos, hour_field, low_s=low_s, high_s=high_s)
        if not when and (hour.seconds % 3600 or hour.nanos):
            when = [(hour_field, "must be the start of an hour")]
        out += when
        for name, value in values.items():
            out += bounds.check_range(value, 0, bounds.MAX_COUNT_PER_ROW, f"{field}.{name}")
    return out


def journaled_violations(journaled: event_ingest_pb2.JournaledEvent, index: int, now_us: int) -> list[Violation]:
    """An uploaded event's (or request-count record's) content within bounds, its receive time included;
    fields are named as ``events[index].quantity`` (the event is what a reader looks for).

    A receive time of zero is no receive time (ingest then uses its own clock), set or not.
    """
    high_s = (now_us + bounds.MAX_RECEIVE_AHEAD_US) // 1_000_000
    event, received = journaled.event, journaled.receive_time
    seconds, nanos = received.seconds, received.nanos
    received_ok = (seconds == 0 and nanos == 0) or (
        bounds.MIN_EVENT_TIME_S <= seconds < high_s and 0 <= nanos <= bounds.MAX_NANOS
    )
    counts = journaled.HasField("request_counts")
    if received_ok and not counts and bounds.event_within_bounds(event, from_cart=False):
        return []
    prefix = f"events[{index}]"
    out = bounds.event_violations(event, prefix, from_cart=False)
    if not received_ok:
        out += bounds.check_timestamp(seconds, nanos, f"{prefix}.receive_time", high_s=high_s)
    if counts:
        out += _count_rows_violations(journaled.request_counts, f"{prefix}.request_counts", now_us)
    return out


def malformed_reason(violations: list[Violation]) -> str:
    """The dead letter's reason for an event outside its bounds: its first violation, and how many more."""
    field, why = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return f"malformed: {field} {why}{more}"


def malformed_outcome(journaled: event_ingest_pb2.JournaledEvent, reason: str) -> EventOutcome:
    """The dead letter of an event outside its bounds, built from nothing but its seq, type and bytes
    (and its id when that is storable): none of its other values reaches a column."""
    event = journaled.event
    event_id = event.event_id if not bounds.check_id(event.event_id, "event_id", required=True) else ""
    return EventOutcome(
        seq=journaled.seq,
        event_id=event_id,
        event_type=int(event.type),
        cart_id="",
        session_id="",
        event_blob=event.SerializeToString(),
        reject_reason=reason,
        reject_code=admin_pb2.DEAD_LETTER_REASON_MALFORMED,
    )
