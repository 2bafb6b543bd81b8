"""In-memory state the edge keeps between requests: frequency per cart session, local spend per line item."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from cartads.v1.common_pb2 import EventType, PricingModel
from cartads.v1.tracking_pb2 import TrackingTokenPayload

_EMPTY: Mapping[str, int] = MappingProxyType({})


class SessionFrequency:
    """How many ads of each line item every cart session was served; the oldest sessions are forgotten."""

    def __init__(self, max_sessions: int) -> None:
        self._max_sessions = max_sessions
        self._sessions: OrderedDict[tuple[str, str], dict[str, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, cart_id: str, session_id: str) -> Mapping[str, int]:
        """Ads served per line item in this session (read-only)."""
        counts = self._sessions.get((cart_id, session_id))
        return MappingProxyType(counts) if counts is not None else _EMPTY

    def record(self, cart_id: str, session_id: str, line_item_ids: Iterable[str]) -> None:
        """Count one more ad of each line item for this session."""
        key = (cart_id, session_id)
        counts = self._sessions.get(key)
        if counts is None:
            counts = self._sessions[key] = {}
        self._sessions.move_to_end(key)
        for line_item_id in line_item_ids:
            counts[line_item_id] = counts.get(line_item_id, 0) + 1
        while len(self._sessions) > self._max_sessions:
            self._sessions.popitem(last=False)


class LocalSpend:
    """Spend per line item under the current index version, from events whose tokens verified.

    The index's allowance is what this store may spend "before the next index", so spend restarts
    with each version and only tokens issued under that version count. A token adds once per event
    kind, as the cloud bills it.
    """

    def __init__(self, max_billed_ads: int) -> None:
        self._max_billed = max_billed_ads
        self._version = ""
        # Milli-micros, so a CPM impression (price / 1000) adds up without rounding.
        self._spend_millimicros: dict[str, int] = {}
        self._spend_micros: dict[str, int] = {}
        self._billed: OrderedDict[tuple[str, int], None] = OrderedDict()

    def reset(self, version: str) -> None:
        """Start counting afresh for a new index version."""
        if version != self._version:
            self._version = version
            self._spend_millimicros = {}
            self._spend_micros = {}
            self._billed.clear()

    def spend_micros(self) -> Mapping[str, int]:
        """Spend per line item in micros (read-only)."""
        return MappingProxyType(self._spend_micros)

    def add(self, payload: TrackingTokenPayload, event_type: int) -> int:
        """Add the cost of one event; returns the milli-micros added (0 when it does not count)."""
        if payload.index_version != self._version:
            return 0
        if event_type == EventType.EVENT_TYPE_IMPRESSION and payload.pricing_model == PricingModel.PRICING_MODEL_CPM:
            cost = payload.price_micros
        elif event_type == EventType.EVENT_TYPE_CLICK and payload.pricing_model == PricingModel.PRICING_MODEL_CPC:
            cost = payload.price_micros * 1000
        else:
            return 0
        key = (payload.ad_id, event_type)
        if key in self._billed:
            return 0
        self._billed[key] = None
        while len(self._billed) > self._max_billed:
            self._billed.popitem(last=False)
        line_item_id = payload.line_item_id
        total = self._spend_millimicros.get(line_item_id, 0) + cost
        self._spend_millimicros[line_item_id] = total
        self._spend_micros[line_item_id] = total // 1000
        return cost
