"""What one upload adds to the ledger and its rollups, from plain outcomes and the ingest time. Pure.

The ledger's storage runs these between its reads and writes: it learns from the unique keys which
events are new and which won their billing claim, hands those outcomes in, and writes the rows and
count deltas that come out. Exactly-once rests on those keys, so nothing here reads or remembers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from cartads.time_units import hour_start_us
from cartads.v1 import common_pb2
from cloud_core.events.billing import billing_key
from cloud_core.events.outcomes import EventOutcome, IngestResult

_K = TypeVar("_K")
Row = dict[str, Any]

# The count columns of the spend and hourly rollups, in the order ``event_counts`` gives them.
COUNT_COLUMNS = ("impressions", "clicks", "conversions", "spend_micros")
TRIGGER_COUNT_COLUMNS = ("impressions", "clicks", "conversions")
# Column orders of the value tuples the events, billing claims and ledger rows are inserted with.
EVENT_COLUMNS = (
    "store_id",
    "event_id",
    "edge_id",
    "seq",
    "event_type",
    "cart_id",
    "session_id",
    "ad_id",
    "campaign_id",
    "line_item_id",
    "outcome",
    "charge_micros",
    "occur_time_us",
    "receive_time_us",
    "ingest_time_us",
    "invalid_rule",
)
CLAIM_COLUMNS = ("ad_id", "event_type", "store_id", "event_id")
LEDGER_COLUMNS = (
    "store_id",
    "event_id",
    "ad_id",
    "event_type",
    "advertiser_id",
    "campaign_id",
    "line_item_id",
    "pricing_model",
    "charge_micros",
    "create_time_us",
)


def event_counts(o: EventOutcome) -> tuple[int, int, int, int]:
    """(impressions, clicks, conversions, spend) one billed event adds to its rollups."""
    kind = o.event_type
    return (
        int(kind == common_pb2.EVENT_TYPE_IMPRESSION),
        int(kind == common_pb2.EVENT_TYPE_CLICK),
        int(kind == common_pb2.EVENT_TYPE_CONVERSION),
        o.charge_micros,
    )


def _add(totals: dict[_K, list[int]], key: _K, counts: Sequence[int]) -> None:
    acc = totals.get(key)
    if acc is None:
        totals[key] = list(counts)
    else:
        for i, n in enumerate(counts):
            acc[i] += n


def _billed_now(o: EventOutcome) -> bool:
    return o.billable and not o.reject_reason and not o.invalid_rule


def dead_letter_codes(o: EventOutcome) -> Row:
    """The coded columns of a dead letter: its reason code, the key its token names, its claimed charge."""
    return {
        "reason_code": o.reject_code,
        "signing_key_id": o.signing_key_id,
        "claimed_charge_micros": o.claimed_charge_micros,
    }


def unidentified_dead_letters(
    store_id: str, edge_id: str, outcomes: Iterable[EventOutcome], ingest_us: int
) -> list[Row]:
    """Dead letters of the events without an id: with no identity to dedupe on, they are keyed on the
    edge's seq."""
    return [
        {
            "store_id": store_id,
            "edge_id": edge_id,
            "seq": o.seq,
            "event_id": "",
            "reason": o.reject_reason or "missing event_id",
            "event_blob": o.event_blob,
            "create_time_us": ingest_us,
            **dead_letter_codes(o),
        }
        for o in outcomes
        if not o.event_id
    ]


def first_by_event_id(outcomes: Iterable[EventOutcome]) -> tuple[dict[str, EventOutcome], int]:
    """The first event of each id in upload order, and how many later ones repeated an id (duplicates)."""
    firsts: dict[str, EventOutcome] = {}
    repeated = 0
    for o in outcomes:
        if not o.event_id:
            continue
        if o.event_id in firsts:
            repeated += 1
        else:
            firsts[o.event_id] = o
    return firsts, repeated


def event_rows(
    store_id: str, edge_id: str, firsts: Mapping[str, EventOutcome], ingest_us: int
) -> list[tuple[object, ...]]:
    """The events rows (EVENT_COLUMNS order) of ``firsts``, in event id order (the lock order)."""
    rows: list[tuple[object, ...]] = []
    for _, o in sorted(firsts.items()):
        billed = _billed_now(o)
        rows.append(
            (
                store_id,
                o.event_id,
                edge_id,
                o.seq,
                o.event_type,
                o.cart_id,
                o.session_id,
                o.ad_id,
                o.campaign_id,
                o.line_item_id,
                # Provisional for billable events: corrected when the decision turns out billed before.
                "rejected" if o.reject_reason else "invalid" if o.invalid_rule else "billed" if billed else "recorded",
                o.charge_micros if billed else 0,
                o.occur_time_us,
                o.receive_time_us,
                ingest_us,
                o.invalid_rule,
            )
        )
    return rows


def rejected_dead_letters(store_id: str, edge_id: str, new: Iterable[EventOutcome], ingest_us: int) -> list[Row]:
    """Dead letters of the new events that were rejected."""
    return [
        {
            "store_id": store_id,
            "edge_id": edge_id,
            "seq": o.seq,
            "event_id": o.event_id,
            "reason": o.reject_reason,
            "event_blob": o.event_blob,
            "create_time_us": ingest_us,
            **dead_letter_codes(o),
        }
        for o in new
        if o.reject_reason
    ]


@dataclass(frozen=True)
class BillingClaims:
    """The billing claims of an upload's new billable events, in key order (the lock order).

    Of two events claiming one decision and kind, the first in upload order comes first and wins."""

    candidates: tuple[EventOutcome, ...]
    rows: tuple[tuple[object, ...], ...]  # CLAIM_COLUMNS order, one per candidate


def billing_claims(store_id: str, new: Sequence[EventOutcome]) -> BillingClaims:
    """What each new billable event claims: its decision (and product, for conversions) and kind."""
    keys = {o.event_id: billing_key(o.ad_id, o.event_type, o.product_id) for o in new if o.billable}
    candidates = sorted((o for o in new if _billed_now(o)), key=lambda o: (keys[o.event_id], o.event_type))
    rows = tuple((keys[o.event_id], o.event_type, store_id, o.event_id) for o in candidates)
    return BillingClaims(tuple(candidates), rows)


@dataclass(frozen=True)
class LedgerDeltas:
    """Everything an upload's new and billed events add besides the events themselves."""

    ledger_rows: list[tuple[object, ...]]  # LEDGER_COLUMNS order
    spend_rows: list[Row]
    hourly_rows: list[Row]
    traffic_rows: list[Row]
    trigger_rows: list[Row]
    # Campaign id -> spend this upload added to it.
    added_spend: dict[str, int]


def ledger_deltas(
    store_id: str, new: Sequence[EventOutcome], billed: Sequence[EventOutcome], ingest_us: int
) -> LedgerDeltas:
    """Ledger rows, spend and hourly rollups, store traffic and rollups by trigger of one upload.

    ``new``: the events recorded for the first time; ``billed``: those of them that won their claim.
    An event belongs to the hour it reached the edge (the ingest time when the edge did not say)."""
    spend: dict[tuple[str, str], list[int]] = {}
    rollups: dict[tuple[str, str, int], list[int]] = {}
    traffic: dict[int, int] = {}
    triggers: dict[tuple[str, int, int], list[int]] = {}
    for o in new:
        hour = hour_start_us(o.receive_time_us or ingest_us)
        traffic[hour] = traffic.get(hour, 0) + 1
    for o in billed:
        hour = hour_start_us(o.receive_time_us or ingest_us)
        counts = event_counts(o)
        _add(spend, (o.campaign_id, o.line_item_id), counts)
        _add(rollups, (o.campaign_id, o.line_item_id, hour), counts)
        if any(counts[:3]):
            _add(triggers, (o.line_item_id, o.trigger, hour), counts[:3])
    added: dict[str, int] = {}
    for (cid, _), c in spend.items():
        added[cid] = added.get(cid, 0) + c[3]
    return LedgerDeltas(
        ledger_rows=[
            (
                store_id,
                o.event_id,
                o.ad_id,
                o.event_type,
                o.advertiser_id,
                o.campaign_id,
                o.line_item_id,
                o.pricing_model,
                o.charge_micros,
                ingest_us,
            )
            for o in billed
        ],
        spend_rows=[
            {"store_id": store_id, "campaign_id": cid, "line_item_id": lid, **dict(zip(COUNT_COLUMNS, c, strict=True))}
            for (cid, lid), c in spend.items()
        ],
        hourly_rows=[
            {
                "campaign_id": cid,
                "line_item_id": lid,
                "store_id": store_id,
                "hour_start_us": hour,
                **dict(zip(COUNT_COLUMNS, c, strict=True)),
            }
            for (cid, lid, hour), c in rollups.items()
        ],
        traffic_rows=[{"store_id": store_id, "hour_start_us": hour, "events": n} for hour, n in traffic.items()],
        trigger_rows=[
            {
                "line_item_id": lid,
                "trigger": trigger,
                "store_id": store_id,
                "hour_start_us": hour,
                **dict(zip(TRIGGER_COUNT_COLUMNS, c, strict=True)),
            }
            for (lid, trigger, hour), c in triggers.items()
        ],
        added_spend=added,
    )


def exhausted_campaigns(
    added_spend: Mapping[str, int], spend_after: Mapping[str, int], budgets: Mapping[str, int]
) -> frozenset[str]:
    """Campaigns whose spend crossed their budget with this upload's share: below it before the upload
    (``spend_after`` minus ``added_spend``), at or above it after. A campaign without a budget (deleted)
    has none left to exhaust."""
    return frozenset(
        cid
        for cid, delta in added_spend.items()
        if cid in budgets and spend_after.get(cid, 0) - delta < budgets[cid] <= spend_after.get(cid, 0)
    )


def ingest_result(
    *,
    unidentified: int,
    unidentified_new: int,
    repeated: int,
    firsts: int,
    new: Sequence[EventOutcome],
    billed: int,
    exhausted: frozenset[str],
    over_delivered: int = 0,
) -> IngestResult:
    """An upload's counts. Duplicates: events without an id whose dead letter (by seq) existed, later
    events repeating an id within the upload, and first events whose id was recorded before. Rejected:
    new dead letters. Recorded: new events neither billed nor rejected."""
    rejected_new = sum(1 for o in new if o.reject_reason)
    invalid_new = sum(1 for o in new if o.invalid_rule and not o.reject_reason)
    return IngestResult(
        billed_count=billed,
        duplicate_count=(unidentified - unidentified_new) + repeated + (firsts - len(new)),
        recorded_count=len(new) - billed - rejected_new - invalid_new,
        invalid_count=invalid_new,
        rejected_count=unidentified_new + rejected_new,
        exhausted_campaign_ids=exhausted,
        rejected_codes=tuple((o.reject_code, o.signing_key_id) for o in new if o.reject_reason),
        over_delivered_count=over_delivered,
    )


# Invalid traffic rollups: key and counts (impressions, clicks and conversions are its ad events;
# events counts every invalid event, basket events too).
INVALID_KEY = ("campaign_id", "line_item_id", "store_id", "hour_start_us", "rule")
INVALID_COUNTS = ("impressions", "clicks", "conversions", "events")


def invalid_rollup_rows(store_id: str, new: Iterable[EventOutcome], ingest_us: int) -> list[Row]:
    """The hourly invalid traffic counts the newly recorded invalid events add, per campaign, line
    item and rule (campaign "" for events of no ad)."""
    totals: dict[tuple[str, str, str, int, int], list[int]] = {}
    for o in new:
        if not o.invalid_rule or o.reject_reason:
            continue
        kind = o.event_type
        counts = (
            int(kind == common_pb2.EVENT_TYPE_IMPRESSION),
            int(kind == common_pb2.EVENT_TYPE_CLICK),
            int(kind == common_pb2.EVENT_TYPE_CONVERSION),
            1,
        )
        hour = hour_start_us(o.receive_time_us or ingest_us)
        _add(totals, (o.advertiser_id, o.campaign_id, o.line_item_id, hour, o.invalid_rule), counts)
    return [
        {
            "advertiser_id": adv,
            "campaign_id": cid,
            "line_item_id": lid,
            "store_id": store_id,
            "hour_start_us": hour,
            "rule": rule,
            **dict(zip(INVALID_COUNTS, c, strict=True)),
        }
        for (adv, cid, lid, hour, rule), c in totals.items()
    ]
