"""The bounds of sales attribution shared by the cloud (validation, ingest) and the edge (attribution).

A campaign's click-through and view-through windows say how long after an ad reached a shopper a
purchase of its product is credited to it. 0 is the same trip only; anything longer reaches earlier
trips of a shopper the cart identified by a pseudonymous loyalty id (README, "Measurement").
"""

from __future__ import annotations

import re

# 14 days: the longest window retail media networks commonly offer; a longer one would credit ads
# with purchases that have little to do with them, and make the edge remember exposures for longer.
MAX_WINDOW_S = 14 * 24 * 3600
# A pseudonymous loyalty id: lowercase hex of HMAC-SHA256(retailer's key, loyalty number). Anything
# else (a raw card number above all) is refused, so the edge and the cloud never hold one.
LOYALTY_ID = re.compile(r"[0-9a-f]{64}")


def loyalty_id_problem(loyalty_id: str) -> str:
    """Why ``loyalty_id`` is not a pseudonymous id, or "" when it is (or is empty: no loyalty id)."""
    if not loyalty_id or LOYALTY_ID.fullmatch(loyalty_id):
        return ""
    return "must be 64 lowercase hex characters (HMAC-SHA256 of the loyalty number); raw loyalty numbers are refused"


def window_problem(window_s: int) -> str:
    """Why ``window_s`` is not a valid attribution window, or "" when it is."""
    if 0 <= window_s <= MAX_WINDOW_S:
        return ""
    return f"must be between 0 (the same trip only) and {MAX_WINDOW_S:,} seconds (14 days)"
