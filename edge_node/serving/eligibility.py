"""Whether one line item may serve one request, and if not, how far it got. Pure.

Checks run in a fixed order; a line item that fails is tagged with the stage it failed at, and a
request that gets no ad reports the furthest stage any candidate reached, so the no-fill reason
says what stood closest to an ad (e.g. "frequency capped" rather than "paused" when both occur).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from types import MappingProxyType

from edge_node.index.tables import Entry
from edge_node.index.view import Creative

_EMPTY: Mapping[str, int] = MappingProxyType({})


class Stage(enum.IntEnum):
    """Where a candidate stopped; higher is closer to being served."""

    ELIGIBLE = 0
    PAUSED = 1
    OUT_OF_SCHEDULE = 2
    # Not on this trigger, or nothing to show.
    UNSERVABLE = 3
    BUDGET_EXHAUSTED = 4
    IN_BASKET = 5
    BELOW_RESERVE = 6
    FREQUENCY_CAPPED = 7
    # Eligible, but budget pacing held it back from this request (its pass-through rate).
    THROTTLED = 8


@dataclass(slots=True)
class SessionCounts:
    """What one cart session (trip) was already served; selection only reads it."""

    line_items: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    creatives: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    campaigns: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    ads_served: int = 0
    last_ad_unix_ms: int | None = None


@dataclass(frozen=True, slots=True)
class LocalTime:
    """The request's moment in the store's time zone."""

    hour: int
    iso_weekday: int

    @staticmethod
    def at(now_unix_ms: int, tz: tzinfo) -> LocalTime:
        """Hour and ISO weekday of ``now_unix_ms`` in ``tz``."""
        # Offsets and their transitions are whole seconds (zoneinfo, UTC), so hour and weekday
        # depend only on the whole second: one conversion serves every request within it.
        return _local_time_at_second(now_unix_ms // 1000, tz)


@functools.lru_cache(maxsize=16)
def _local_time_at_second(unix_s: int, tz: tzinfo) -> LocalTime:
    local = datetime.fromtimestamp(unix_s, tz)
    return LocalTime(local.hour, local.isoweekday())


class Checker:
    """Eligibility for one request; built per request, used for each candidate it walks.

    A check reads only the ``Entry`` (the line item's fields unpacked once per index version) and
    what this object computed once for the request, so each candidate costs a few attribute reads.
    """

    __slots__ = (
        "_budget_share",
        "_draw",
        "_history",
        "_local",
        "_now",
        "_session",
        "_spend_get",
        "_trigger",
        "_tz",
        "basket",
        "throttled",
    )

    def __init__(
        self,
        *,
        trigger: int,
        basket: frozenset[str],
        spend_micros: Mapping[str, int],
        session: SessionCounts,
        now_unix_ms: int,
        tz: tzinfo,
        budget_share: float = 1.0,
        draw: Callable[[], float] | None = None,
    ) -> None:
        self._trigger = trigger
        # The request's basket product ids (selection reads it for each creative it considers).
        self.basket = basket
        self._spend_get = spend_micros.get
        self._session = session
        # A session that was served nothing reaches no cap: its checks are skipped.
        self._history = bool(session.line_items or session.campaigns or session.creatives)
        self._now = now_unix_ms
        self._tz = tz
        self._local: LocalTime | None = None
        self._budget_share = budget_share
        # A uniform draw in [0, 1) for the pacing throttle; None serves every line item unthrottled.
        self._draw = draw
        # Line items the throttle held back from this request, for the edge's request counts.
        self.throttled: list[str] = []

    def _in_daypart(self, entry: Entry) -> bool:
        local = self._local
        if local is None:
            local = self._local = LocalTime.at(self._now, self._tz)
        li = entry.line_item
        if li.daypart_hours and local.hour not in li.daypart_hours:
            return False
        return not li.daypart_weekdays or local.iso_weekday in li.daypart_weekdays

    def creative_open(self, creative: Creative, cap: int) -> bool:
        """The creative neither promotes something in the basket nor is capped for this session."""
        if creative.promoted_product_id in self.basket:
            return False
        return cap <= 0 or self._session.creatives.get(creative.creative_id, 0) < cap

    def check(self, entry: Entry) -> Stage:
        """ELIGIBLE, or the stage at which ``entry`` cannot serve this request."""
        if entry.paused:
            return Stage.PAUSED
        now = self._now
        if now < entry.start_unix_ms or now >= entry.end_unix_ms:
            return Stage.OUT_OF_SCHEDULE
        if entry.has_daypart and not self._in_daypart(entry):
            return Stage.OUT_OF_SCHEDULE
        triggers = entry.triggers
        if (triggers and self._trigger not in triggers) or not entry.creatives:
            return Stage.UNSERVABLE
        if (
            not entry.is_house
            and self._spend_get(entry.line_item_id, 0) >= entry.budget_allowance_micros * self._budget_share
        ):
            return Stage.BUDGET_EXHAUSTED
        basket = self.basket
        # Every creative promoting a basket product leaves nothing to show (creatives are not empty here).
        if basket and (not entry.promoted_product_ids.isdisjoint(basket) or entry.creative_product_ids <= basket):
            return Stage.IN_BASKET
        if entry.below_reserve:
            return Stage.BELOW_RESERVE
        if self._history:
            session = self._session
            cap = entry.frequency_cap_per_session
            if cap > 0 and session.line_items.get(entry.line_item_id, 0) >= cap:
                return Stage.FREQUENCY_CAPPED
            cap = entry.campaign_frequency_cap_per_session
            if cap > 0 and session.campaigns.get(entry.campaign_id, 0) >= cap:
                return Stage.FREQUENCY_CAPPED
            cap = entry.creative_frequency_cap_per_session
            if cap > 0 and not any(self.creative_open(c, cap) for c in entry.creatives):
                return Stage.FREQUENCY_CAPPED
        # Without history no cap is reached, and a creative promoting a basket product cannot be the
        # only kind left: a line item whose every creative does so stopped at IN_BASKET above.
        # Last, so only otherwise eligible line items are throttled (and counted as such).
        rate = entry.pass_through_rate
        if rate < 1.0 and self._draw is not None and self._draw() >= rate:
            self.throttled.append(entry.line_item_id)
            return Stage.THROTTLED
        return Stage.ELIGIBLE
