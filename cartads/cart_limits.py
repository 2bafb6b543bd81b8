"""What one cart may ask of its store's edge: the defaults, and their copy in the index. Pure.

The cloud compiles the operator's limits into every index (``StoreSettings.cart_limits``); the edge
enforces what its index says, a field left 0 (or an index without limits) meaning the default here,
so both ends share one set of defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from cartads.v1 import index_pb2


@dataclass(frozen=True, slots=True)
class PerCartLimits:
    """Per-cart token buckets and shares (the fields of ``index_pb2.CartLimits``)."""

    # GetAds and ReportEvents calls per second, refilled continuously, and the burst after idling.
    calls_per_s: float = 20.0
    call_burst: int = 60
    # Events reported per second, and their burst.
    events_per_s: float = 100.0
    event_burst: int = 2_000
    # The share of the journal's soft limit one cart's unsent events may hold (200 bps = 2%).
    journal_share_bps: int = 200
    # Live sessions whose frequency state the edge keeps per cart.
    sessions_per_cart: int = 8


DEFAULT_LIMITS = PerCartLimits()
_FIELDS = tuple(f.name for f in fields(PerCartLimits))


def limits_from_pb(pb: index_pb2.CartLimits | None) -> PerCartLimits:
    """The limits an index carries; a field left 0 (or no limits at all) takes its default."""
    if pb is None:
        return DEFAULT_LIMITS
    return PerCartLimits(**{name: getattr(pb, name) or getattr(DEFAULT_LIMITS, name) for name in _FIELDS})


def limits_to_pb(limits: PerCartLimits) -> index_pb2.CartLimits:
    """The index's copy of ``limits``, every field written out."""
    return index_pb2.CartLimits(**{name: getattr(limits, name) for name in _FIELDS})
