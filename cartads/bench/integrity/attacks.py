"""The rogue devices of the integrity bench: each sends what an attacker on a store's network would,
and tallies how the servers answered. Every event they send is invalid traffic or out of terms, so
none of it may be billed.

- ``no_credential``: a laptop on the store's Wi-Fi, with no cart credential or a made-up one.
- ``stolen_credential``: a device holding an enrolled cart's credential, committing ad fraud at machine
  speed: impressions and clicks the moment an ad is decided, clicks on ads never seen, a hundred clicks
  a trip, basket adds of promoted products to claim conversions, another cart's id, and a flood.
- ``edge_forger``: whoever holds an edge's API token and its disk (its signing key), uploading forged
  charges straight to the cloud: an unknown key, a 900 USD click on a cheap bid, a line item or an
  index version the cloud never issued, another advertiser's creative.
- ``poison``: values beyond every bound, at the edge and straight to the cloud.
- ``journal_flood``: a cart reporting a thousand events a call, as fast as it can.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from cartads.bench.integrity.cart_attacks import journal_flood, no_credential, stolen_credential
from cartads.bench.integrity.forgery import edge_forger, poison
from cartads.bench.integrity.tally import AttackTally
from cartads.bench.integrity.target import Target, Terms

ATTACKS: dict[str, Callable[[Target], Coroutine[Any, Any, AttackTally]]] = {
    "no_credential": no_credential,
    "stolen_credential": stolen_credential,
    "edge_forger": edge_forger,
    "poison": poison,
    "journal_flood": journal_flood,
}

__all__ = ["ATTACKS", "Target", "Terms"]
