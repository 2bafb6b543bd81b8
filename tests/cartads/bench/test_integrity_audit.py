"""The integrity bench's audit: rogue spend and the honest carts' match, from billed rows per cart."""

from __future__ import annotations

from collections import Counter

from cartads.bench.integrity.audit import BilledRow, HonestReport, audit
from cartads.bench.integrity.tally import AttackTally
from cartads.v1 import common_pb2

IMPRESSION = common_pb2.EVENT_TYPE_IMPRESSION
CLICK = common_pb2.EVENT_TYPE_CLICK
HONEST = HonestReport(
    cart_ids=frozenset({"h1", "h2"}), impressions_reported=3, clicks_reported=1, ads_served=5, requests=9
)


def test_every_micro_billed_to_a_cart_that_is_not_honest_is_rogue_spend() -> None:
    """Spend on any cart outside the honest set counts as rogue, whatever id the rogue used."""
    rows = [BilledRow("h1", IMPRESSION, 3, 300), BilledRow("h2", CLICK, 1, 500), BilledRow("x", CLICK, 2, 900)]
    result = audit(HONEST, rows, [])
    assert (result["rogue_spend_billed_micros"], result["rogue_events_billed"]) == (900, 2)
    assert result["honest_spend_billed_micros"] == 800


def test_honest_carts_match_only_when_impressions_and_clicks_both_match() -> None:
    """One impression too many billed to an honest cart (e.g. a rogue using its id) is a mismatch."""
    exact = [BilledRow("h1", IMPRESSION, 3, 300), BilledRow("h2", CLICK, 1, 500)]
    assert audit(HONEST, exact, [])["honest_billed_equals_reported"] is True
    extra = [BilledRow("h1", IMPRESSION, 4, 400), BilledRow("h2", CLICK, 1, 500)]
    assert audit(HONEST, extra, [])["honest_billed_equals_reported"] is False


def test_rogue_tallies_are_summed_and_kept_by_attack() -> None:
    """The events every attacker sent are summed, and each attacker's tally is kept under its name."""
    rogues = [
        AttackTally("a", calls=2, events_sent=10, events_accepted=4, refused=Counter({"UNAUTHENTICATED": 1})),
        AttackTally("b", calls=1, events_sent=5),
    ]
    result = audit(HONEST, [], rogues)
    assert (result["rogue_events_sent"], result["rogue_calls"], result["rogue_events_journaled"]) == (15, 3, 4)
    assert result["attacks"]["a"]["refused"] == {"UNAUTHENTICATED": 1}


def test_a_tally_survives_its_trip_through_json() -> None:
    """An attacker process's printed tally reads back as the same tally."""
    tally = AttackTally("a", calls=2, events_sent=10, events_accepted=4, refused=Counter({"X": 2}), notes={"n": 1})
    assert AttackTally.from_dict(tally.as_dict()) == tally
