"""Per-cart token buckets: calls per second and events per second, from the index's CartLimits. Pure.

One cart that floods its edge (a stuck retry loop, a tampered cart) spends its own tokens only:
over its bucket it is refused with a retry delay, and every other cart keeps being served. The
state is bounded: the least recently seen carts are forgotten first (a forgotten cart starts
again with a full burst, which is what an idle cart has anyway).
"""

from __future__ import annotations

from collections import OrderedDict

from cartads.cart_limits import PerCartLimits

DEFAULT_MAX_CARTS = 50_000


class _Buckets:
    __slots__ = ("call_tokens", "event_tokens", "updated_s")

    def __init__(self, limits: PerCartLimits, now_s: float) -> None:
        self.call_tokens = float(limits.call_burst)
        self.event_tokens = float(limits.event_burst)
        self.updated_s = now_s

    def refill(self, limits: PerCartLimits, now_s: float) -> None:
        elapsed = now_s - self.updated_s
        if elapsed > 0:
            self.call_tokens = min(float(limits.call_burst), self.call_tokens + elapsed * limits.calls_per_s)
            self.event_tokens = min(float(limits.event_burst), self.event_tokens + elapsed * limits.events_per_s)
            self.updated_s = now_s


def _wait_s(tokens: float, needed: float, rate_per_s: float) -> float:
    return (needed - tokens) / rate_per_s if rate_per_s > 0 else 1.0


class CartQuotas:
    """Each cart's buckets; ``take_call`` / ``take_events`` answer 0 (taken) or the seconds to wait."""

    def __init__(self, max_carts: int = DEFAULT_MAX_CARTS) -> None:
        self._max_carts = max(1, max_carts)
        self._carts: OrderedDict[str, _Buckets] = OrderedDict()

    def _buckets(self, cart_id: str, limits: PerCartLimits, now_s: float) -> _Buckets:
        buckets = self._carts.get(cart_id)
        if buckets is None:
            if len(self._carts) >= self._max_carts:
                self._carts.popitem(last=False)
            buckets = self._carts[cart_id] = _Buckets(limits, now_s)
        else:
            self._carts.move_to_end(cart_id)
            buckets.refill(limits, now_s)
        return buckets

    def take_call(self, cart_id: str, limits: PerCartLimits, now_s: float) -> float:
        """Take one call from the cart's bucket: 0, or how long until one is there (nothing taken)."""
        # Every call of every cart passes here: the common case (a known cart with tokens left) is
        # inlined rather than built from the helpers ``take_events`` uses.
        buckets = self._carts.get(cart_id)
        if buckets is None:
            buckets = self._buckets(cart_id, limits, now_s)
        else:
            self._carts.move_to_end(cart_id)
            elapsed = now_s - buckets.updated_s
            if elapsed > 0:
                buckets.updated_s = now_s
                tokens = buckets.call_tokens + elapsed * limits.calls_per_s
                buckets.call_tokens = tokens if tokens < limits.call_burst else float(limits.call_burst)
                events = buckets.event_tokens + elapsed * limits.events_per_s
                buckets.event_tokens = events if events < limits.event_burst else float(limits.event_burst)
        if buckets.call_tokens >= 1.0:
            buckets.call_tokens -= 1.0
            return 0.0
        return _wait_s(buckets.call_tokens, 1.0, limits.calls_per_s)

    def take_events(self, cart_id: str, count: int, limits: PerCartLimits, now_s: float) -> float:
        """Take ``count`` events: 0, or how long until they may be sent (nothing taken).

        A report larger than the burst passes once the bucket is full and leaves it in debt, so no
        report size is refused forever.
        """
        buckets = self._buckets(cart_id, limits, now_s)
        needed = float(min(count, limits.event_burst))
        if buckets.event_tokens >= needed:
            buckets.event_tokens -= count
            return 0.0
        return _wait_s(buckets.event_tokens, needed, limits.events_per_s)

    def __len__(self) -> int:
        return len(self._carts)
