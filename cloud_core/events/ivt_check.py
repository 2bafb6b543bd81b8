"""The cloud's second opinion on invalid traffic: every uploaded event judged again. Pure.

The same rules as the edge (``cartads.ivt``) with the cloud's policy (``CloudConfig.ivt_policy``,
the one the compiler writes into every index). The trips and carts are the ledger's, read once per
upload as counts bounded by the upload (``history_needs`` says what to read): of the trips of its
clicks and conversions, the valid impressions and clicks of their ads and the trip's click and
conversion totals; the basket adds its conversions name, if invalid; and the carts' valid
impressions and clicks per minute around its clicks (the click-rate window, to the minute). An
upload without clicks or conversions needs none of it. Then the upload itself, in its order. The
cloud holds whole trips, so nothing is judged as incomplete here; a trip is taken as its last
``HISTORY_SPAN_US`` (no cart trip is longer).

The cloud's verdict stands: an event it judges invalid is recorded with its rule, charged 0 and
kept out of spend, rollups, learned rates and attribution; one the edge called valid counts as a
disagreement of its edge. An event already recorded keeps the verdict it was recorded with.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cartads import ivt
from cartads.v1 import common_pb2, event_ingest_pb2
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from cloud_core.events.outcomes import EventOutcome

# How far back the ledger is read for an upload's trips (and the click-rate window, if longer).
HISTORY_SPAN_US = 12 * 3600 * 1_000_000

_IMPRESSION = common_pb2.EVENT_TYPE_IMPRESSION
_CLICK = common_pb2.EVENT_TYPE_CLICK
_CONVERSION = common_pb2.EVENT_TYPE_CONVERSION
_BASKET_ADD = common_pb2.EVENT_TYPE_BASKET_ADD
_TOKEN_EVENTS = frozenset({common_pb2.EVENT_TYPE_AD_PLAY, _IMPRESSION, _CLICK, _CONVERSION})
_PRODUCTION = common_pb2.CART_TRAFFIC_CLASS_PRODUCTION


@dataclass(frozen=True, slots=True)
class PastEvent:
    """Events the ledger already holds, as the rules need them: ``count`` valid events of one kind,
    trip and ad (event_id ""), or one invalid basket add (with its id and rule)."""

    event_id: str
    event_type: int
    cart_id: str
    session_id: str
    ad_id: str
    receive_time_us: int
    invalid_rule: int
    count: int = 1


@dataclass(frozen=True, slots=True)
class WindowBucket:
    """A cart's valid impressions and clicks received in one minute."""

    cart_id: str
    minute_start_us: int
    impressions: int
    clicks: int


@dataclass(frozen=True)
class HistoryNeeds:
    """What the ledger must read to re-judge an upload (all empty: nothing but its carts' classes)."""

    cart_ids: tuple[str, ...]
    since_us: int
    # The (cart, session) trips of its clicks and conversions, and the ads they are of.
    trips: tuple[tuple[str, str], ...] = ()
    ad_ids: tuple[str, ...] = ()
    # The basket adds its conversions were made from.
    add_ids: tuple[str, ...] = ()
    # The carts of its clicks and the receive time range their click-rate windows span.
    window_cart_ids: tuple[str, ...] = ()
    window_from_us: int = 0
    window_to_us: int = 0
    # Its own events, left out of the counts (they are judged here).
    event_ids: tuple[str, ...] = ()
    credential_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class IvtContext:
    """What the ledger knows of an upload's carts: their earlier events and their traffic classes."""

    history: Sequence[PastEvent] = ()
    windows: Sequence[WindowBucket] = ()
    # cart id -> CartTrafficClass of the store's enrolled carts (a cart not listed is production).
    traffic_classes: Mapping[str, int] = field(default_factory=dict)
    # credential id -> (cart id, create time, revoke time or 0) of the store's credentials the upload names.
    credentials: Mapping[str, tuple[str, int, int]] = field(default_factory=dict)


def enrolled_at(context: IvtContext, credential_id: str, cart_id: str, receive_us: int) -> bool:
    """Whether the event's credential was this store's, of its cart, and valid when the edge received
    it. An event without one (journaled by an edge that authenticates no cart) is not judged by it."""
    if not credential_id:
        return True
    record = context.credentials.get(credential_id)
    if record is None:
        return False
    owner, created_us, revoked_us = record
    return owner == cart_id and created_us <= receive_us and (revoked_us == 0 or receive_us < revoked_us)


def history_needs(
    journaled: Sequence[event_ingest_pb2.JournaledEvent],
    outcomes: Sequence[EventOutcome],
    policy: ivt.IvtPolicy,
    now_us: int,
) -> HistoryNeeds:
    """What the ledger must read for ``outcomes`` (their events ``journaled``, in upload order)."""
    judged = [(j, o) for j, o in zip(journaled, outcomes, strict=True) if o.event_id and not o.reject_reason]
    oldest = min((o.receive_time_us or now_us for _, o in judged), default=now_us)
    cart_ids = tuple(sorted({o.cart_id for _, o in judged if o.cart_id}))
    credential_ids = tuple(sorted({j.cart_credential_id for j, _ in judged if j.cart_credential_id}))
    in_trip = [(j, o) for j, o in judged if o.event_type in (_CLICK, _CONVERSION)]
    if not in_trip:
        return HistoryNeeds(cart_ids, oldest, credential_ids=credential_ids)
    clicks = [o for _, o in in_trip if o.event_type == _CLICK]
    window_us = policy.outlier_window_s * 1_000_000
    return HistoryNeeds(
        cart_ids,
        oldest - HISTORY_SPAN_US,
        trips=tuple(sorted({(o.cart_id, o.session_id) for _, o in in_trip})),
        ad_ids=tuple(sorted({o.ad_id for _, o in in_trip if o.ad_id})),
        add_ids=tuple(sorted({j.event.attributed_event_id for j, o in in_trip if o.event_type == _CONVERSION})),
        window_cart_ids=tuple(sorted({o.cart_id for o in clicks})),
        window_from_us=min((o.receive_time_us or now_us for o in clicks), default=now_us) - window_us,
        window_to_us=max((o.receive_time_us or now_us for o in clicks), default=now_us),
        event_ids=tuple(sorted({o.event_id for _, o in judged})),
        credential_ids=credential_ids,
    )


@dataclass
class _Cart:
    # The ledger's per-minute counts, and receive times (ms) of the upload's valid impressions and
    # clicks, sorted.
    buckets: list[WindowBucket] = field(default_factory=list)
    impressions: list[int] = field(default_factory=list)
    clicks: list[int] = field(default_factory=list)

    def window(self, at_ms: int, window_ms: int) -> ivt.CartWindow:
        def within(times: list[int]) -> int:
            return bisect.bisect_right(times, at_ms) - bisect.bisect_left(times, at_ms - window_ms)

        impressions, clicks = within(self.impressions), within(self.clicks)
        for b in self.buckets:
            if at_ms - window_ms <= b.minute_start_us // 1000 <= at_ms:
                impressions += b.impressions
                clicks += b.clicks
        return ivt.CartWindow(impressions, clicks)


class _State:
    def __init__(self) -> None:
        self.trips: dict[tuple[str, str], ivt.TripTally] = {}
        self.carts: dict[str, _Cart] = {}

    def add(self, e: PastEvent, *, touch: bool) -> None:
        """Count ``e`` in its trip, and with ``touch`` (an uploaded event) in its cart's window."""
        key = (e.cart_id, e.session_id)
        trip = self.trips.get(key)
        if trip is None:  # (not setdefault: building a tally per event costs more than judging it)
            trip = self.trips[key] = ivt.TripTally()
        if e.invalid_rule:
            if e.event_type == _BASKET_ADD:
                trip.invalid_adds.add(e.event_id)
            return
        cart = self.carts.get(e.cart_id)
        if cart is None:
            cart = self.carts[e.cart_id] = _Cart()
        at_ms = e.receive_time_us // 1000
        if e.event_type == _IMPRESSION:
            trip.impressed.add(e.ad_id)
            if touch:
                bisect.insort(cart.impressions, at_ms)
        elif e.event_type == _CLICK:
            trip.clicks += e.count
            trip.clicks_by_ad[e.ad_id] = trip.clicks_by_ad.get(e.ad_id, 0) + e.count
            if touch:
                bisect.insort(cart.clicks, at_ms)
        elif e.event_type == _CONVERSION:
            trip.conversions += e.count


def _payload(o: EventOutcome, store_id: str) -> TrackingTokenPayload | None:
    # Billing verified the token (store, cart, session, ad and age) or rejected the event: what the
    # rules still read of it is its ad and issue time.
    if o.event_type not in _TOKEN_EVENTS or not o.campaign_id:
        return None
    return TrackingTokenPayload(
        ad_id=o.ad_id,
        store_id=store_id,
        cart_id=o.cart_id,
        session_id=o.session_id,
        issue_time_unix_ms=o.token_issue_ms,
    )


def rejudge(
    store_id: str,
    journaled: Sequence[event_ingest_pb2.JournaledEvent],
    outcomes: Sequence[EventOutcome],
    context: IvtContext,
    *,
    policy: ivt.IvtPolicy,
    token_ttl_s: int,
    now_us: int,
) -> list[EventOutcome]:
    """``outcomes`` (one per ``journaled`` event, in upload order) with the cloud's verdicts: an
    invalid one unbilled with its rule, and marked when its edge had called it valid. Rejected
    events (dead letters) are left as they are."""
    state = _State()
    for past in context.history:
        state.add(past, touch=False)
    for bucket in context.windows:
        state.carts.setdefault(bucket.cart_id, _Cart()).buckets.append(bucket)
    window_ms = policy.outlier_window_s * 1000
    # Only clicks and conversions read the history: an upload without them keeps none.
    keeps_history = any(o.event_type in (_CLICK, _CONVERSION) for o in outcomes)
    windowed = any(o.event_type == _CLICK for o in outcomes)
    out: list[EventOutcome] = []
    for j, o in zip(journaled, outcomes, strict=True):
        receive_us = o.receive_time_us or now_us
        receive_ms = receive_us // 1000
        if o.reject_reason or not o.event_id:
            out.append(o)
            continue
        payload = _payload(o, store_id)
        event = j.event
        rule = ivt.judge_stateless(
            event,
            payload,
            token=ivt.TokenCheck.VERIFIED,
            store_id=store_id,
            receive_ms=receive_ms,
            clock_offset_ms=j.cart_clock_offset_ms or None,
            traffic_class=context.traffic_classes.get(o.cart_id, _PRODUCTION),
            token_ttl_ms=token_ttl_s * 1000,
            policy=policy,
            cart_enrolled=enrolled_at(context, j.cart_credential_id, o.cart_id, receive_us),
        )
        if not rule and o.event_type in (_CLICK, _CONVERSION):
            rule = ivt.judge_stateful(
                event,
                payload,
                state.trips.get((o.cart_id, o.session_id), ivt.TripTally()).history(),
                state.carts.get(o.cart_id, _Cart()).window(receive_ms, window_ms),
                policy,
            )
        if keeps_history:
            past = PastEvent(o.event_id, o.event_type, o.cart_id, o.session_id, o.ad_id, receive_us, rule)
            state.add(past, touch=windowed)
        if rule:
            invalid = dataclasses.replace(o, invalid_rule=rule, billable=False, charge_micros=0)
            out.append(dataclasses.replace(invalid, ivt_disagrees=not j.invalid_rule))
        else:
            out.append(o)
    return out
