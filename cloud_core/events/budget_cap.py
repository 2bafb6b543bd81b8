"""Spend never passes a campaign's budget: the part of a charge past it is over-delivery. Pure.

Edges stop a line item when their local spend reaches its budget lease, so delivery past the budget
is bounded by the allowances outstanding when the budget ran out (the lease bound, README "Budgets").
That delivery is recorded, and reported as over-delivery at what it would have cost, but never
charged: an event that crosses the budget is charged the remainder, events after it nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cloud_core.events.outcomes import EventOutcome


@dataclass(frozen=True)
class OverDelivery:
    """A billed event charged less than its price because its campaign's budget ran out."""

    outcome: EventOutcome  # as charged (charge_micros lowered, maybe to 0)
    over_micros: int  # the part of its price past the budget


def cap_to_budgets(
    billed: Sequence[EventOutcome], spent: Mapping[str, int], budgets: Mapping[str, int]
) -> tuple[list[EventOutcome], list[OverDelivery]]:
    """``billed`` (in upload order) with each charge cut to what its campaign's budget has left after
    ``spent`` (its spend over all stores before them), and the events cut. A campaign without a budget
    row (deleted meanwhile) is not capped."""
    left = {cid: max(0, budgets[cid] - spent.get(cid, 0)) for cid in budgets}
    charged: list[EventOutcome] = []
    over: list[OverDelivery] = []
    for o in billed:
        remaining = left.get(o.campaign_id)
        if remaining is None or o.charge_micros <= remaining:
            if remaining is not None:
                left[o.campaign_id] = remaining - o.charge_micros
            charged.append(o)
            continue
        cut = dataclasses.replace(o, charge_micros=remaining)
        left[o.campaign_id] = 0
        charged.append(cut)
        over.append(OverDelivery(cut, o.charge_micros - remaining))
    return charged, over
