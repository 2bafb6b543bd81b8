"""Invalid traffic in reports: which rollup groups a report reads of it, and the rows they make. Pure.

Invalid events are rolled up per campaign, line item, store, hour and rule
(``invalid_rollups_hourly``), not per creative or experiment arm: a report by creative or arm (or
filtered by them) shows no invalid counts. A report by rule has rows of invalid events only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cartads.v1 import common_pb2
from cloud_core.reports.metrics import Delivery
from cloud_core.reports.rollups import ReportFilter

# Report dimension -> column of the invalid rollups.
INVALID_COLUMNS: Mapping[str, str] = {
    "campaign": "campaign_id",
    "line_item": "line_item_id",
    "store": "store_id",
    "hour": "hour_start_us",
    "day": "hour_start_us",
    "ivt_rule": "rule",
}
RULE_DIMENSION = "ivt_rule"
KNOWN_RULES = frozenset(common_pb2.InvalidTrafficRule.values()) - {common_pb2.INVALID_TRAFFIC_RULE_UNSPECIFIED}


@dataclass(frozen=True)
class InvalidQuery:
    """A read of the invalid rollups: columns to group by, the report's filter, and its rules (all when empty)."""

    columns: tuple[str, ...]
    where: ReportFilter
    rules: tuple[int, ...] = ()


def invalid_query(dimensions: Sequence[str], where: ReportFilter, rules: Sequence[int]) -> InvalidQuery | None:
    """The read of a report's invalid counts, or None when its dimensions or filters cannot have any."""
    if any(d not in INVALID_COLUMNS for d in dimensions) or where.creative_ids or where.layer_id:
        return None
    columns: list[str] = []
    for dim in dimensions:
        if INVALID_COLUMNS[dim] not in columns:
            columns.append(INVALID_COLUMNS[dim])
    return InvalidQuery(tuple(columns), where, tuple(sorted(set(rules))))


def invalid_delivery(counts: Sequence[int]) -> Delivery:
    """The Delivery of (impressions, clicks, conversions, events) invalid counts."""
    impressions, clicks, conversions, events = (int(c) for c in counts)
    return Delivery(
        invalid_impressions=impressions, invalid_clicks=clicks, invalid_conversions=conversions, invalid_events=events
    )


def invalid_key_values(query: InvalidQuery, dimensions: Sequence[str], values: Sequence[Any]) -> list[tuple[str, Any]]:
    """(dimension, raw value) of one grouped row, in dimension order (days still as hours)."""
    position = {c: i for i, c in enumerate(query.columns)}
    return [(dim, values[position[INVALID_COLUMNS[dim]]]) for dim in dimensions]
