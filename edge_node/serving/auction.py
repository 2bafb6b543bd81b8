"""What a winner pays: second price with a reserve, in the unit of the winner's bid. Pure.

The winner pays the least it could have bid and still won: the runner-up's score divided by the
winner's pacing factor (scores are value × pacing), but never less than the reserve and never more
than its own bid. Values are in CPM micros; a CPC or CPA winner's price converts back through its
predicted rate, so "price ≤ bid" and "price ≥ reserve" hold in the unit the advertiser bid in.
"""

from __future__ import annotations

import math

from edge_node.index.tables import TIER_HOUSE, TIER_SPONSORSHIP, Entry


def clearing_price_micros(winner: Entry, runner_up_score: float | None) -> int:
    """The price ``winner`` is charged in its bid's unit (micros per mille, per click or per action)."""
    li = winner.line_item
    if winner.tier == TIER_HOUSE:
        return 0
    if winner.tier == TIER_SPONSORSHIP:
        # A sponsorship is a negotiated placement: it pays its (reserve-checked) bid.
        return li.bid_micros
    floor = winner.reserve_bid_micros
    if runner_up_score is None or winner.units_per_cpm <= 0:
        return min(li.bid_micros, floor)
    # The CPM value the winner needed to beat the runner-up, then in the winner's unit.
    needed_value = runner_up_score / li.pacing_factor if li.pacing_factor > 0 else runner_up_score
    needed = needed_value / winner.units_per_cpm
    if not needed < li.bid_micros:  # also catches overflow to inf with a vanishing click rate
        return li.bid_micros
    return min(li.bid_micros, max(floor, math.ceil(needed - 1e-9)))
