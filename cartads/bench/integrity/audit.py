"""The integrity bench's verdict from what was sent and what the ledger billed. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cartads.bench.integrity.tally import AttackTally
from cartads.v1 import common_pb2

_IMPRESSION = common_pb2.EVENT_TYPE_IMPRESSION
_CLICK = common_pb2.EVENT_TYPE_CLICK


@dataclass(frozen=True)
class HonestReport:
    """What the honest carts had acknowledged by the edge, in total."""

    cart_ids: frozenset[str]
    impressions_reported: int
    clicks_reported: int
    ads_served: int
    requests: int


@dataclass(frozen=True)
class BilledRow:
    """One (cart, event type) of the ledger's billed events."""

    cart_id: str
    event_type: int
    events: int
    charge_micros: int


def audit(honest: HonestReport, billed: Iterable[BilledRow], rogues: Sequence[AttackTally]) -> dict[str, Any]:
    """The bench's figures. Rogue spend is every micro billed to a cart that is not an honest one;
    an honest cart is billed exactly what it reported when its impressions and clicks match."""
    rows = list(billed)
    honest_rows = [r for r in rows if r.cart_id in honest.cart_ids]
    rogue_rows = [r for r in rows if r.cart_id not in honest.cart_ids]
    honest_impressions = sum(r.events for r in honest_rows if r.event_type == _IMPRESSION)
    honest_clicks = sum(r.events for r in honest_rows if r.event_type == _CLICK)
    return {
        "rogue_events_sent": sum(t.events_sent for t in rogues),
        "rogue_calls": sum(t.calls for t in rogues),
        "rogue_events_journaled": sum(t.events_accepted for t in rogues),
        "rogue_spend_billed_micros": sum(r.charge_micros for r in rogue_rows),
        "rogue_events_billed": sum(r.events for r in rogue_rows),
        "honest_impressions_reported": honest.impressions_reported,
        "honest_impressions_billed": honest_impressions,
        "honest_clicks_reported": honest.clicks_reported,
        "honest_clicks_billed": honest_clicks,
        "honest_spend_billed_micros": sum(r.charge_micros for r in honest_rows),
        "honest_billed_equals_reported": honest_impressions == honest.impressions_reported
        and honest_clicks == honest.clicks_reported,
        "honest_ad_requests": honest.requests,
        "honest_ads_served": honest.ads_served,
        "attacks": {t.attack: t.as_dict() for t in rogues},
    }
