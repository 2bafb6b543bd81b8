"""Budget leases at the edge: local spend per lease, and which line items may still serve. Pure.

The cloud gives this store, per campaign, an allowance for a lease period (sent in the index on
each of the campaign's line items as ``budget_allowance_micros`` with ``budget_lease_id`` and its
expiry). The edge adds the cost of every journaled event to the campaign's spend under its current
lease and stops the campaign's line items once that spend reaches the allowance, or once the lease
has expired; a new lease (a new id) starts a fresh count. The spend is committed with the events
in the journal, so a restart does not reset it. An index without lease ids (an older cloud) counts
spend per index version, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from cartads.v1.common_pb2 import EventType, PricingModel, PriorityTier
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from edge_node.index.view import LineItem, ServingView

# Reported as the "spend" of a line item that must not serve: at or above any allowance.
BLOCKED_SPEND_MICROS = 1 << 62
# Enum values read once: each PriorityTier.X is a Python-level __getattr__ on protobuf's enum wrapper.
_HOUSE = PriorityTier.PRIORITY_TIER_HOUSE


@dataclass(frozen=True)
class LeaseCharge:
    """What one journaled event adds to the local spend of a budget lease (the campaign's budget)."""

    campaign_id: str
    lease_id: str
    millimicros: int
    expire_unix_ms: int = 0


def lease_id_of(line_item: LineItem, index_version: str) -> str:
    """The lease a line item's spend counts against under this index version."""
    return line_item.budget_lease_id or f"index:{index_version}"


def charge_millimicros(pricing_model: int, event_type: int, price_micros: int) -> int:
    """What one event costs, in milli-micros so a CPM impression (price / 1000) adds up exactly."""
    if pricing_model == PricingModel.PRICING_MODEL_CPM and event_type == EventType.EVENT_TYPE_IMPRESSION:
        return price_micros
    if pricing_model == PricingModel.PRICING_MODEL_CPC and event_type == EventType.EVENT_TYPE_CLICK:
        return price_micros * 1000
    if pricing_model == PricingModel.PRICING_MODEL_CPA and event_type == EventType.EVENT_TYPE_CONVERSION:
        return price_micros * 1000
    return 0


def charge_for(view: ServingView, payload: TrackingTokenPayload, event_type: int) -> LeaseCharge | None:
    """The lease charge of one event whose token verified, or None when it costs nothing here."""
    line_item = view.line_items.get(payload.line_item_id)
    if line_item is None:
        # Not in the index any more: nothing serves it, so there is no allowance left to guard.
        return None
    cost = charge_millimicros(payload.pricing_model, event_type, payload.price_micros)
    if cost <= 0:
        return None
    return LeaseCharge(
        line_item.campaign_id,
        lease_id_of(line_item, view.version),
        cost,
        line_item.budget_lease_expire_unix_ms or 0,
    )


class LeaseSpend:
    """Committed local spend per (campaign, lease), mirrored in memory from the journal."""

    def __init__(self, initial_millimicros: Mapping[tuple[str, str], int] | None = None) -> None:
        self._millimicros: dict[tuple[str, str], int] = dict(initial_millimicros or {})

    def add(self, charges: Iterable[LeaseCharge]) -> None:
        """Count charges that the journal committed."""
        for charge in charges:
            key = (charge.campaign_id, charge.lease_id)
            self._millimicros[key] = self._millimicros.get(key, 0) + charge.millimicros

    def by_lease(self) -> Mapping[tuple[str, str], int]:
        """Spend per (campaign, lease) in milli-micros: a live read-only view, not a copy."""
        return self._millimicros

    def spend_micros(self, campaign_id: str, lease_id: str) -> int:
        """A campaign's spend under one lease, in micros (rounded down)."""
        return self._millimicros.get((campaign_id, lease_id), 0) // 1000


def serving_spend_micros(
    line_item: LineItem, spend: LeaseSpend, index_version: str, now_unix_ms: int, paid_allowed: bool
) -> int:
    """The spend selection compares with the allowance; BLOCKED_SPEND_MICROS stops the line item.

    House ads cost nothing and keep serving; paid line items stop while pushback is on (the
    journal is above its soft limit) and once their lease has expired.
    """
    used = spend.spend_micros(line_item.campaign_id, lease_id_of(line_item, index_version))
    if line_item.priority_tier == _HOUSE:
        return used
    if not paid_allowed:
        return BLOCKED_SPEND_MICROS
    expire = line_item.budget_lease_expire_unix_ms
    if expire is not None and now_unix_ms >= expire:
        return BLOCKED_SPEND_MICROS
    return used


class ServingSpend(Mapping[str, int]):
    """Spend per line item as selection reads it for one request, computed only for the ids it asks."""

    __slots__ = ("_index_lease", "_line_items", "_millimicros", "_now_unix_ms", "_paid_allowed", "_view")

    def __init__(self, view: ServingView, spend: LeaseSpend, now_unix_ms: int, paid_allowed: bool) -> None:
        self._view = view
        self._line_items = view.line_items
        self._millimicros = spend.by_lease()
        self._index_lease = f"index:{view.version}"
        self._now_unix_ms = now_unix_ms
        self._paid_allowed = paid_allowed

    def __getitem__(self, line_item_id: str) -> int:
        used = self.get(line_item_id)
        if used is None:
            raise KeyError(line_item_id)
        return used

    def get(self, line_item_id: str, default: int | None = None) -> int | None:  # type: ignore[override]
        """``self[line_item_id]`` (inlined: selection asks this for every paid candidate it checks)."""
        line_item = self._line_items.get(line_item_id)
        if line_item is None:
            return default
        lease_id = line_item.budget_lease_id or self._index_lease
        used = self._millimicros.get((line_item.campaign_id, lease_id), 0) // 1000
        if line_item.priority_tier == _HOUSE:
            return used
        if not self._paid_allowed:
            return BLOCKED_SPEND_MICROS
        expire = line_item.budget_lease_expire_unix_ms
        if expire is not None and self._now_unix_ms >= expire:
            return BLOCKED_SPEND_MICROS
        return used

    @property
    def paid_blocked(self) -> bool:
        """Every paid line item reads as blocked: journal pushback is on, or every paid lease has
        expired (an edge offline for longer than its leases). Selection then walks house ads only."""
        if not self._paid_allowed:
            return True
        expire = self._view.tables.paid_leases_expire_unix_ms
        return expire is not None and self._now_unix_ms >= expire

    def __iter__(self) -> Iterator[str]:
        return iter(self._view.line_items)

    def __len__(self) -> int:
        return len(self._view.line_items)
