"""Choosing ads for one request: candidates, eligibility, ranking, an auction per slot.

Pure: plain values in (serving view, request, the session's counts, local spend, ``now``, a random
source for ad ids), a decision out. No I/O, no clock, no logging, so every rule is tested with values.

Line items are ranked once per index version (tier, then expected value × pacing, then id; see
``edge_node.index.tables``), so a request walks its candidates in that order and stops as soon as every
slot has a winner and a runner-up, instead of scoring every candidate.
"""

from __future__ import annotations

import bisect
import enum
import functools
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from edge_node.index.experiments import ArmPlan
from edge_node.index.tables import MAX_MICROS, TIER_AUCTION, Entry, ServingTables, units_per_cpm
from edge_node.index.view import Creative, LineItem, ServingView
from edge_node.serving.auction import clearing_price_micros
from edge_node.serving.eligibility import Checker, SessionCounts, Stage
from edge_node.serving.rank_merge import merge_unique

_EMPTY: Mapping[str, int] = MappingProxyType({})


class NoFillReason(enum.IntEnum):
    """Why a request got no ad; values equal cartads.v1.NoFillReason."""

    NONE = 0
    NO_INDEX = 1
    NO_CANDIDATES = 2
    FREQUENCY_CAPPED = 3
    NOT_ELIGIBLE = 4
    TRIP_CAP = 5
    NO_SLOTS = 6
    OUT_OF_SCHEDULE = 20
    BUDGET_EXHAUSTED = 21
    AD_INTERVAL = 22
    IN_BASKET = 23
    BELOW_RESERVE = 24
    PAUSED = 25
    THROTTLED = 140
    EXPERIMENT_HOLDOUT = 160
    # Paid ads stopped because the journal (or the cart's share of it) is full: house ads only.
    JOURNAL_FULL = 170


@dataclass(frozen=True, slots=True)
class SlotRequest:
    """A place on the cart's screen; format 0 accepts any creative format."""

    slot_id: str
    format: int = 0


# Not frozen: built on every request, and a frozen dataclass sets each field through
# object.__setattr__ (~10x the cost of this __init__); nothing changes it once built.
@dataclass(slots=True)
class AdRequest:
    """The parts of a GetAds request that selection uses."""

    trigger: int = 0
    scanned_product_id: str = ""
    zone_id: str = ""
    basket_product_ids: tuple[str, ...] = ()
    slots: tuple[SlotRequest, ...] = ()
    # 0 means the edge's default; ignored when slots are given.
    max_ads: int = 0


# Not frozen, as AdRequest (built on every request; nothing changes it once built).
@dataclass(slots=True)
class SelectedAd:
    """One ad of a decision."""

    slot_id: str
    line_item: LineItem
    creative: Creative
    price_micros: int
    # The ranking score: expected CPM value × pacing.
    ecpm_micros: float
    ad_id: str = ""


# Not frozen, as AdRequest (built on every request; nothing changes it once built).
@dataclass(slots=True)
class Decision:
    """The ads chosen, or why there are none."""

    ads: tuple[SelectedAd, ...]
    no_fill_reason: NoFillReason = NoFillReason.NONE
    # Line items that were eligible but held back by pacing (edge_node/events/request_counts.py counts them).
    throttled: tuple[str, ...] = ()


def expected_cpm_micros(line_item: LineItem) -> float:
    """Expected value of one thousand impressions, so bids of every pricing model compare."""
    return line_item.bid_micros * units_per_cpm(line_item)


def _candidate_lists(tables: ServingTables, request: AdRequest) -> list[tuple[int, ...]]:
    """The sorted rank lists of the postings this request names."""
    lists: list[tuple[int, ...]] = []
    product_only = tables.product_only
    if request.scanned_product_id:
        pid = request.scanned_product_id
        if reached := tables.scan.get(pid):
            lists.extend(reached)
        elif found := product_only.get(pid):  # not in the catalog: only its own postings
            lists.append(found)
    if request.zone_id and (found := tables.zone.get(request.zone_id)):
        lists.append(found)
    if request.basket_product_ids:
        basket = tables.basket
        # Each department's (shared) list once, however many basket products are in it.
        departments: dict[int, tuple[int, ...]] = {}
        for pid in request.basket_product_ids:
            if reached := basket.get(pid):
                own, department = reached
                if own:
                    lists.append(own)
                if department:
                    departments[id(department)] = department
        lists.extend(departments.values())
    if request.trigger and (found := tables.trigger.get(request.trigger)):
        lists.append(found)
    if tables.run_of_store:
        lists.append(tables.run_of_store)
    return lists


def _merged(lists: list[tuple[int, ...]]) -> Iterable[int]:
    """Every rank of ``lists``, ascending (any duplicates adjacent); lazily: selection usually stops
    after a few candidates (``edge_node.serving.rank_merge``: in C when it was built)."""
    if len(lists) <= 1:
        return lists[0] if lists else ()
    return merge_unique(lists)


def _from_rank(lists: list[tuple[int, ...]], first: int) -> tuple[list[tuple[int, ...]], bool]:
    """The parts of ``lists`` from rank ``first`` on, and whether any rank before it was dropped."""
    kept: list[tuple[int, ...]] = []
    dropped = False
    for ranks in lists:
        start = bisect.bisect_left(ranks, first)
        dropped = dropped or start > 0
        if start < len(ranks):
            kept.append(ranks[start:] if start else ranks)
    return kept, dropped


def _slots(request: AdRequest, default_max_ads: int) -> tuple[SlotRequest, ...]:
    if request.slots:
        return request.slots
    return _default_slots(request.max_ads or default_max_ads)


@functools.lru_cache(maxsize=64)
def _default_slots(count: int) -> tuple[SlotRequest, ...]:
    # Immutable, so one tuple per count serves every request that names no slots.
    return tuple(SlotRequest(slot_id=f"slot-{i}") for i in range(count))


class _Pool:
    """Eligible candidates in rank order, checked lazily: only as far as the slots need."""

    __slots__ = ("_checker", "_entries", "_exhausted", "_last_rank", "_ranks", "eligible", "furthest")

    def __init__(self, entries: tuple[Entry, ...], ranks: Iterable[int], checker: Checker) -> None:
        self._entries = entries
        self._ranks = iter(ranks)
        self._checker = checker
        self._last_rank = -1
        self._exhausted = False
        self.eligible: list[Entry] = []
        # The furthest eligibility stage an ineligible candidate reached, -1 when none was seen.
        self.furthest = -1

    def at(self, i: int) -> Entry | None:
        """The i-th eligible candidate, None when there are fewer."""
        eligible = self.eligible
        while i >= len(eligible) and not self._exhausted:
            self._pull()
        return eligible[i] if i < len(eligible) else None

    def _pull(self) -> None:
        check = self._checker.check
        for rank in self._ranks:
            if rank == self._last_rank:  # merged lists may name a line item twice, adjacently
                continue
            self._last_rank = rank
            entry = self._entries[rank]
            stage = check(entry)
            if not stage:  # Stage.ELIGIBLE
                self.eligible.append(entry)
                return
            self.furthest = max(self.furthest, stage)
        self._exhausted = True


class _Allocation:
    """The ads chosen so far in one response, and what they add to the session's counts."""

    __slots__ = ("ads", "campaigns", "creative_caps", "creatives", "labels", "used")

    def __init__(self) -> None:
        self.ads: list[SelectedAd] = []
        self.used: set[str] = set()
        self.labels: set[str] = set()
        self.campaigns: dict[str, int] = {}
        self.creatives: dict[str, int] = {}
        # The tightest cap a chosen ad put on its creative: another line item showing the same
        # creative in this response must respect it too.
        self.creative_caps: dict[str, int] = {}

    def blocks(self, entry: Entry, session: SessionCounts) -> bool:
        # Only called once an ad is chosen: before, the check already applied the session's counts.
        if entry.line_item_id in self.used or (entry.exclusion_label and entry.exclusion_label in self.labels):
            return True
        cap = entry.campaign_frequency_cap_per_session
        cid = entry.campaign_id
        return cap > 0 and session.campaigns.get(cid, 0) + self.campaigns.get(cid, 0) >= cap

    def creative_for(self, entry: Entry, slot_format: int, checker: Checker, session: SessionCounts) -> Creative | None:
        cap = entry.creative_frequency_cap_per_session
        basket = checker.basket
        for creative in entry.creatives:
            if slot_format and creative.format != slot_format:
                continue
            if creative.promoted_product_id in basket:
                continue
            if not cap and not self.creative_caps:  # no cap on this creative in this response
                return creative
            cid = creative.creative_id
            limit = min(cap or MAX_MICROS, self.creative_caps.get(cid, MAX_MICROS))
            if limit < MAX_MICROS and session.creatives.get(cid, 0) + self.creatives.get(cid, 0) >= limit:
                continue
            return creative
        return None

    def add(self, ad: SelectedAd, entry: Entry) -> None:
        """Record ``ad``, chosen from ``entry``."""
        self.ads.append(ad)
        self.used.add(entry.line_item_id)
        if entry.exclusion_label:
            self.labels.add(entry.exclusion_label)
        campaigns = self.campaigns
        campaigns[entry.campaign_id] = campaigns.get(entry.campaign_id, 0) + 1
        cid = ad.creative.creative_id
        creatives = self.creatives
        creatives[cid] = creatives.get(cid, 0) + 1
        if cap := entry.creative_frequency_cap_per_session:
            self.creative_caps[cid] = min(cap, self.creative_caps.get(cid, cap))


def _candidate_pool(tables: ServingTables, request: AdRequest, checker: Checker, paid_blocked: bool) -> _Pool:
    lists = _candidate_lists(tables, request)
    passed_over = False
    if paid_blocked:  # every paid candidate would stop at its budget check: house ads only
        lists, passed_over = _from_rank(lists, tables.first_house_rank)
    pool = _Pool(tables.entries, _merged(lists), checker)
    if passed_over:
        pool.furthest = Stage.BUDGET_EXHAUSTED
    return pool


_STAGE_REASON = {
    Stage.PAUSED: NoFillReason.PAUSED,
    Stage.OUT_OF_SCHEDULE: NoFillReason.OUT_OF_SCHEDULE,
    Stage.UNSERVABLE: NoFillReason.NOT_ELIGIBLE,
    Stage.BUDGET_EXHAUSTED: NoFillReason.BUDGET_EXHAUSTED,
    Stage.IN_BASKET: NoFillReason.IN_BASKET,
    Stage.BELOW_RESERVE: NoFillReason.BELOW_RESERVE,
    Stage.FREQUENCY_CAPPED: NoFillReason.FREQUENCY_CAPPED,
    Stage.THROTTLED: NoFillReason.THROTTLED,
}


def select_ads(
    view: ServingView | None,
    request: AdRequest,
    *,
    frequency: Mapping[str, int] | None = None,
    spend_micros: Mapping[str, int] | None = None,
    now_unix_ms: int,
    default_max_ads: int = 1,
    session: SessionCounts | None = None,
    rng: random.Random | None = None,
    budget_share: float = 1.0,
    plan: ArmPlan | None = None,
    paid_blocked: bool = False,
) -> Decision:
    """The ads for ``request``: per slot, sponsorships, then a second-price auction, then house ads.

    ``session`` is what this cart session was already served (``frequency`` alone gives its line
    item counts); ``spend_micros`` is this store's local spend per line item under the current
    index, of which this process may spend ``budget_share`` of each allowance (worker processes);
    ``plan`` is what the session's experiment arms change (holdout, ranking tables, ads per trip);
    ``rng`` makes the ad ids and the pacing throttle's draws (none without it: nothing is
    throttled), so equal inputs and seeds give equal decisions. ``paid_blocked`` says that
    ``spend_micros`` stops every paid line item (``ServingSpend.paid_blocked``): only house line
    items are walked, instead of every paid candidate failing its budget check first, and the paid
    candidates passed over count as stopped at BUDGET_EXHAUSTED for the no-fill reason.
    """
    if view is None:
        return Decision((), NoFillReason.NO_INDEX)
    if plan is not None and plan.holdout:
        return Decision((), NoFillReason.EXPERIMENT_HOLDOUT)
    if session is None:
        session = SessionCounts(line_items=frequency or _EMPTY)
    slots = _slots(request, default_max_ads)
    if not slots:
        return Decision((), NoFillReason.NO_SLOTS)
    max_ads_per_trip = view.max_ads_per_trip
    if plan is not None and plan.max_ads_per_trip is not None:
        max_ads_per_trip = plan.max_ads_per_trip
    if max_ads_per_trip > 0:
        left = max_ads_per_trip - session.ads_served
        if left <= 0:
            return Decision((), NoFillReason.TRIP_CAP)
        slots = slots[:left]
    last = session.last_ad_unix_ms
    if view.min_ad_interval_ms > 0 and last is not None and now_unix_ms - last < view.min_ad_interval_ms:
        return Decision((), NoFillReason.AD_INTERVAL)
    tables = plan.tables if plan is not None and plan.tables is not None else view.tables
    checker = Checker(
        trigger=request.trigger,
        basket=frozenset(request.basket_product_ids),
        spend_micros=spend_micros or _EMPTY,
        session=session,
        now_unix_ms=now_unix_ms,
        tz=tables.tz,
        budget_share=budget_share,
        draw=rng.random if rng is not None else None,
    )
    pool = _candidate_pool(tables, request, checker, paid_blocked)
    eligible = pool.eligible
    chosen = _Allocation()
    for slot in slots:
        winner: Entry | None = None
        winner_creative: Creative | None = None
        runner_up: Entry | None = None
        i = 0
        # Candidates already found eligible are read directly (later slots walk them again).
        while (entry := eligible[i] if i < len(eligible) else pool.at(i)) is not None:
            i += 1
            if chosen.ads and chosen.blocks(entry, session):
                continue
            creative = chosen.creative_for(entry, slot.format, checker, session)
            if creative is None:
                continue
            if winner is None:
                winner, winner_creative = entry, creative
                if entry.tier != TIER_AUCTION:
                    break
            else:
                if entry.tier == TIER_AUCTION:
                    runner_up = entry
                break
        if winner is None or winner_creative is None:
            continue
        price = clearing_price_micros(winner, runner_up.score if runner_up is not None else None)
        ad_id = f"{rng.getrandbits(128):032x}" if rng is not None else ""
        chosen.add(SelectedAd(slot.slot_id, winner.line_item, winner_creative, price, winner.score, ad_id), winner)
    throttled = tuple(checker.throttled) if checker.throttled else ()
    if chosen.ads:
        return Decision(tuple(chosen.ads), throttled=throttled)
    if pool.eligible:
        return Decision((), NoFillReason.NO_SLOTS, throttled)
    if pool.furthest < 0:
        return Decision((), NoFillReason.NO_CANDIDATES)
    return Decision((), _STAGE_REASON[Stage(pool.furthest)], throttled)
