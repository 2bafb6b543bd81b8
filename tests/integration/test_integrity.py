"""Adversarial runs with real processes: honest carts shop while each attacker, in its own OS process,
does its worst against the same real cloud and edge; the ledger is then audited per cart.

One run serves every test of this module (a run takes tens of seconds: the honest shoppers look at
their ads for a real viewable second, as people do); each test checks one thing about it.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import pytest

from cartads.bench.integrity.run import integrity

pytestmark = [pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    args = argparse.Namespace(carts=3, trips=6, seed=5, flood_s=3.0, db="", auth_phase_s=0.5)
    return asyncio.run(integrity(args))


def _attack(run: dict[str, Any], name: str) -> dict[str, Any]:
    attack: dict[str, Any] = run["attacks"][name]
    return attack


def test_no_rogue_micro_is_billed(run: dict[str, Any]) -> None:
    """Not one micro is billed to any cart but the honest ones, whatever the attackers sent."""
    assert run["rogue_events_sent"] > 1_000
    assert (run["rogue_spend_billed_micros"], run["rogue_events_billed"]) == (0, 0)


def test_honest_carts_are_billed_exactly_what_they_reported(run: dict[str, Any]) -> None:
    """The honest carts in the same run are billed every impression and click they reported, and no more."""
    assert run["honest_impressions_reported"] > 0
    assert run["honest_billed_equals_reported"] is True


def test_the_journal_drains_and_both_servers_stay_up(run: dict[str, Any]) -> None:
    """After poison and a flood the edge's journal is empty and the cloud and the edge still serve."""
    assert (run["journal_drained"], run["servers_up"]) == (True, True)


def test_a_device_without_a_credential_is_refused_every_call(run: dict[str, Any]) -> None:
    """No credential, a made-up one or another store's: every call refused, not one event journaled."""
    attack = _attack(run, "no_credential")
    assert attack["events_accepted"] == 0
    assert sum(attack["refused"].values()) == attack["calls"]
    assert set(attack["refused"]) == {"UNAUTHENTICATED", "PERMISSION_DENIED"}


def test_a_stolen_credential_gets_its_fraud_journaled_as_invalid_and_its_flood_limited(run: dict[str, Any]) -> None:
    """Machine-speed fraud with a real credential is kept as invalid traffic, its spoofed cart id refused,
    its burst cut by the cart's limits."""
    attack = _attack(run, "stolen_credential")
    assert attack["events_accepted"] > 0
    assert attack["refused"].get("PERMISSION_DENIED", 0) >= 2
    assert attack["refused"].get("RESOURCE_EXHAUSTED", 0) > 0
    rules = run["invalid_events_by_rule"]
    assert rules.get("INVALID_TRAFFIC_RULE_TOO_FAST", 0) > 0
    assert run["invalid_traffic_rate"] > 0


def test_forged_charges_are_dead_lettered_with_their_reason_and_the_edge_flagged(run: dict[str, Any]) -> None:
    """An edge token and the edge's own key bill nothing outside the terms the cloud issued."""
    attack = _attack(run, "edge_forger")
    assert attack["notes"].get("billed_count", 0) == 0
    reasons = run["dead_letters_by_reason"]
    for reason in (
        "DEAD_LETTER_REASON_UNKNOWN_SIGNING_KEY",
        "DEAD_LETTER_REASON_PRICE_ABOVE_TERMS",
        "DEAD_LETTER_REASON_LINE_ITEM_NOT_IN_VERSION",
        "DEAD_LETTER_REASON_VERSION_NOT_SENT",
    ):
        assert reasons.get(reason, 0) > 0, reason
    assert run["edge_flagged"] is True


def test_poison_is_refused_at_the_edge_with_invalid_argument(run: dict[str, Any]) -> None:
    """Values past every bound answer INVALID_ARGUMENT at the edge, never UNKNOWN; a shelf price the cart
    claims is taken but replaced by the edge's own."""
    attack = _attack(run, "poison")
    took = attack["notes"]["edge_took"]
    assert {name for name, taken in took.items() if taken} == {"claimed_shelf_price"}
    assert attack["refused"] == {"INVALID_ARGUMENT": len(took) - 1}


def test_poison_uploaded_straight_to_the_cloud_is_dead_lettered_alone(run: dict[str, Any]) -> None:
    """Each out-of-bounds event an edge token uploads is dead-lettered as malformed; nothing is billed."""
    attack = _attack(run, "poison")
    assert (attack["notes"]["billed_count"], attack["notes"]["rejected_count"]) == (0, 4)
    assert run["dead_letters_by_reason"].get("DEAD_LETTER_REASON_MALFORMED", 0) >= 4


def test_a_journal_flood_is_stopped_by_the_cart_limits(run: dict[str, Any]) -> None:
    """One cart reporting a thousand events a call is refused RESOURCE_EXHAUSTED, and honest carts keep ads."""
    attack = _attack(run, "journal_flood")
    assert attack["refused"].get("RESOURCE_EXHAUSTED", 0) > 0
    assert run["honest_ads_served"] > 0


def test_the_authentication_ratio_is_measured_with_every_call_answered(run: dict[str, Any]) -> None:
    """Both edges of the ratio served GetAds with no error (its value is a benchmark figure, not a test)."""
    assert run["auth_on_rps"] > 0
    assert run["auth_off_rps"] > 0
    assert run["auth_errors"] == 0
