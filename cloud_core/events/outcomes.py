"""What ingest decides about each uploaded event and what recording an upload answers, as plain values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class EventOutcome:
    """One uploaded event after its token was checked: what to record and whether to bill it."""

    seq: int
    event_id: str
    event_type: int
    cart_id: str
    session_id: str
    event_blob: bytes
    occur_time_us: int = 0
    receive_time_us: int = 0
    # Set for ad events whose token verified.
    ad_id: str = ""
    advertiser_id: str = ""
    campaign_id: str = ""
    line_item_id: str = ""
    pricing_model: int = 0
    billable: bool = False
    charge_micros: int = 0
    # Non-empty when the event goes to the dead-letter table instead.
    reject_reason: str = ""
    # For conversions: the product added to the basket (one charge per decision and product).
    product_id: str = ""
    # Reports: the decision's creative; the trip's (layer_id, arm_id) per experiment layer (from the
    # verified token for ad events, from the edge's stamp otherwise); a conversion's value (shelf
    # price × quantity); a basket add's value when the product is advertised, else 0.
    creative_id: str = ""
    experiment_arms: tuple[tuple[str, str], ...] = ()
    sales_micros: int = 0
    advertised_sales_micros: int = 0
    # Pacing and predictions: the trigger of the request the ad was chosen for (0: unknown).
    trigger: int = 0
    # Refused events: why as a DeadLetterReason (0: a reason without a code), the key their token
    # names, and what the token would have charged.
    reject_code: int = 0
    signing_key_id: str = ""
    claimed_charge_micros: int = 0
    # Invalid traffic (events.ivt_check): the verified token's issue time (unix ms; 0: none), the
    # cloud's verdict (an InvalidTrafficRule; 0: valid), and whether the edge had called it valid.
    token_issue_ms: int = 0
    invalid_rule: int = 0
    ivt_disagrees: bool = False
    # Sales at checkout whose token vouches for them: units, value at the edge's shelf price, and
    # how they were attributed (a cartads.v1.AttributionKind).
    sale_units: int = 0
    sale_micros: int = 0
    attribution: int = 0


@dataclass(frozen=True)
class IngestResult:
    """Counts of one upload, and the campaigns whose budget this upload used up."""

    billed_count: int = 0
    duplicate_count: int = 0
    recorded_count: int = 0
    rejected_count: int = 0
    exhausted_campaign_ids: frozenset[str] = frozenset()
    # (reason code, the key its token named) of the events this upload dead-lettered for the first
    # time, in upload order.
    rejected_codes: tuple[tuple[int, str], ...] = ()
    # Billed events charged less than their price (often nothing) because their budget ran out.
    over_delivered_count: int = 0
    # Events newly recorded as invalid traffic (not billed, not in recorded_count).
    invalid_count: int = 0

    @classmethod
    def combined(cls, parts: Sequence[IngestResult], *, dead_new: int = 0, dead_again: int = 0) -> IngestResult:
        """One upload recorded in ``parts``, plus events dead-lettered alone: ``dead_new`` newly, and
        ``dead_again`` whose dead letter an earlier upload of the same events already wrote."""
        return cls(
            billed_count=sum(p.billed_count for p in parts),
            duplicate_count=sum(p.duplicate_count for p in parts) + dead_again,
            recorded_count=sum(p.recorded_count for p in parts),
            rejected_count=sum(p.rejected_count for p in parts) + dead_new,
            exhausted_campaign_ids=frozenset().union(*(p.exhausted_campaign_ids for p in parts)),
            rejected_codes=tuple(c for p in parts for c in p.rejected_codes),
            over_delivered_count=sum(p.over_delivered_count for p in parts),
            invalid_count=sum(p.invalid_count for p in parts),
        )


@dataclass(frozen=True)
class DeadLetter:
    """An event refused for billing, with why."""

    store_id: str
    edge_id: str
    seq: int
    event_id: str
    reason: str
    # Position in the table (for paging), the event's kind and when it was refused.
    dead_letter_id: int = 0
    event_type: int = 0
    create_time_us: int = 0
    # admin_pb2.DeadLetterReason (0 for a reason without a code), the token's key, its claimed charge.
    reason_code: int = 0
    signing_key_id: str = ""
    claimed_charge_micros: int = 0
