"""In-memory state the edge keeps between requests: what each cart session was served. Pure."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import cast

from cartads.cart_limits import DEFAULT_LIMITS
from edge_node.serving.eligibility import SessionCounts

_EMPTY: Mapping[str, int] = MappingProxyType({})


def _new_counts() -> SessionCounts:
    # Plain dicts this module alone updates; selection reads them through the Mapping fields.
    return SessionCounts(line_items={}, creatives={}, campaigns={})


def _dict(counts: Mapping[str, int]) -> dict[str, int]:
    return cast("dict[str, int]", counts)  # made by _new_counts


def _bump(counts: Mapping[str, int], key: str) -> None:
    plain = _dict(counts)
    plain[key] = plain.get(key, 0) + 1


class SessionFrequency:
    """What every cart session was served (per ad, line item, campaign; ads and the last ad's time).

    A cart keeps its ``sessions_per_cart`` most recent sessions (a cart shops one trip at a time:
    older sessions are finished trips), so the state is bounded by the store's enrolled carts, not
    by how many trips a day brings; ``max_sessions`` bounds all carts together, least recently used
    first out. Reads and the record of a decision happen without an ``await`` between them, so one
    process never double-books a cap.
    """

    def __init__(self, max_sessions: int, sessions_per_cart: int = DEFAULT_LIMITS.sessions_per_cart) -> None:
        self._max_sessions = max_sessions
        self.sessions_per_cart = max(1, sessions_per_cart)
        self._sessions: OrderedDict[tuple[str, str], SessionCounts] = OrderedDict()
        # Each cart's sessions, oldest first (session ids only: the counts live in _sessions).
        self._carts: dict[str, OrderedDict[str, None]] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, cart_id: str, session_id: str) -> Mapping[str, int]:
        """Ads served per line item in this session (read-only)."""
        counts = self._sessions.get((cart_id, session_id))
        return MappingProxyType(counts.line_items) if counts is not None else _EMPTY

    def session(self, cart_id: str, session_id: str) -> SessionCounts:
        """Everything selection needs about this session: the live counts, not a copy (selection
        only reads them, and nothing is recorded between this read and the decision)."""
        counts = self._sessions.get((cart_id, session_id))
        return counts if counts is not None else SessionCounts()

    def _counts(self, cart_id: str, session_id: str) -> SessionCounts:
        key = (cart_id, session_id)
        counts = self._sessions.get(key)
        if counts is None:
            counts = self._sessions[key] = _new_counts()
            mine = self._carts.get(cart_id)
            if mine is None:
                mine = self._carts[cart_id] = OrderedDict()
            mine[session_id] = None
            while len(mine) > self.sessions_per_cart:
                old, _ = mine.popitem(last=False)
                del self._sessions[(cart_id, old)]
            while len(self._sessions) > self._max_sessions:
                (old_cart, old_session), _ = self._sessions.popitem(last=False)
                self._forget_in_cart(old_cart, old_session)
        else:
            self._sessions.move_to_end(key)
            self._carts[cart_id].move_to_end(session_id)
        return counts

    def _forget_in_cart(self, cart_id: str, session_id: str) -> None:
        mine = self._carts[cart_id]
        del mine[session_id]
        if not mine:
            del self._carts[cart_id]

    def carts(self) -> int:
        """How many carts have sessions held."""
        return len(self._carts)

    def record(self, cart_id: str, session_id: str, line_item_ids: Iterable[str]) -> None:
        """Count one more ad of each line item for this session."""
        counts = self._counts(cart_id, session_id)
        for line_item_id in line_item_ids:
            _bump(counts.line_items, line_item_id)

    def record_ads(self, cart_id: str, session_id: str, ads: Iterable[tuple[str, str, str]], now_unix_ms: int) -> None:
        """Count ads served now, each (line item id, creative id, campaign id), at every capped level."""
        counts = self._counts(cart_id, session_id)
        line_items, creatives, campaigns = _dict(counts.line_items), _dict(counts.creatives), _dict(counts.campaigns)
        for line_item_id, creative_id, campaign_id in ads:
            line_items[line_item_id] = line_items.get(line_item_id, 0) + 1
            creatives[creative_id] = creatives.get(creative_id, 0) + 1
            campaigns[campaign_id] = campaigns.get(campaign_id, 0) + 1
            counts.ads_served += 1
            counts.last_ad_unix_ms = now_unix_ms
