"""Which stores' indexes a line item change can alter, so only those are recompiled.

A store's index holds the line items that target it, and each campaign's budget lease and pacing
depend on the set of stores its line items target (the store's share of the campaign) and on their
pacing types. So a change to one line item can alter the index of every store that any line item of
its campaign targeted before or after the change, and no other. A line item without store targeting
serves every store: then every store is touched.
"""

from __future__ import annotations

from collections.abc import Iterable

from cartads.v1 import admin_pb2


def stores_touched(line_items: Iterable[admin_pb2.LineItem]) -> list[str] | None:
    """The stores ``line_items`` (a campaign's, before and after a change) target; None: every store."""
    stores: set[str] = set()
    for item in line_items:
        if not item.targeting.store_ids:
            return None
        stores.update(item.targeting.store_ids)
    return sorted(stores)
