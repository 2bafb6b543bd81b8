"""The cloud's second opinion on invalid traffic: every uploaded event judged again. Pure.

The same rules as the edge (``cartads.ivt``) with the cloud's policy (``CloudConfig.ivt_policy``,
the one the compiler writes into every index). The trips and carts are the ledger's: the earlier
events of the upload's carts (``PastEvent``, read in one query per upload) and the upload itself,
in its order. The cloud holds whole trips, so nothing is judged as incomplete here; a trip is
taken as its last ``HISTORY_SPAN_US`` (no cart trip is longer), which bounds that read.

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
_TOKEN_EVENTS = frozenset({_IMPRESSION, _CLICK, _CONVERSION})
_PRODUCTION = common_pb2.CART_TRAFFIC_CLASS_PRODUCTION
# The kinds of earlier events the rules read.
HISTORY_TYPES = (_IMPRESSION, _CLICK, _CONVERSION, _BASKET_ADD)


@dataclass(frozen=True, slots=True)
class PastEvent:
    """An event the ledger already holds, as the rules need it."""

    event_id: str
    event_type: int
    cart_id: str
    session_id: str
    ad_id: str
    receive_time_us: int
    invalid_rule: int


@dataclass(frozen=True)
class IvtContext:
    """What the ledger knows of an upload's carts: their earlier events and their traffic classes."""

    history: Sequence[PastEvent] = ()
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


def history_since_us(outcomes: Sequence[EventOutcome], policy: ivt.IvtPolicy, now_us: int) -> int:
    """The oldest receive time of the earlier events the upload's verdicts can depend on."""
    oldest = min((o.receive_time_us or now_us for o in outcomes), default=now_us)
    return oldest - max(HISTORY_SPAN_US, policy.outlier_window_s * 1_000_000)


@dataclass
class _Trip:
    impressed: set[str] = field(default_factory=set)
    clicks: int = 0
    clicks_by_ad: dict[str, int] = field(default_factory=dict)
    conversions: int = 0
    invalid_adds: set[str] = field(default_factory=set)

    def history(self) -> ivt.TripHistory:
        return ivt.TripHistory(
            frozenset(self.impressed), self.clicks, self.clicks_by_ad, self.conversions, frozenset(self.invalid_adds)
        )


@dataclass
class _Cart:
    # Receive times (ms) of the cart's valid impressions and clicks, sorted.
    impressions: list[int] = field(default_factory=list)
    clicks: list[int] = field(default_factory=list)

    def window(self, at_ms: int, window_ms: int) -> ivt.CartWindow:
        def within(times: list[int]) -> int:
            return bisect.bisect_right(times, at_ms) - bisect.bisect_left(times, at_ms - window_ms)

        return ivt.CartWindow(within(self.impressions), within(self.clicks))


class _State:
    def __init__(self) -> None:
        self.trips: dict[tuple[str, str], _Trip] = {}
        self.carts: dict[str, _Cart] = {}

    def add(self, e: PastEvent) -> None:
        trip = self.trips.setdefault((e.cart_id, e.session_id), _Trip())
        if e.invalid_rule:
            if e.event_type == _BASKET_ADD:
                trip.invalid_adds.add(e.event_id)
            return
        cart = self.carts.setdefault(e.cart_id, _Cart())
        at_ms = e.receive_time_us // 1000
        if e.event_type == _IMPRESSION:
            trip.impressed.add(e.ad_id)
            bisect.insort(cart.impressions, at_ms)
        elif e.event_type == _CLICK:
            trip.clicks += 1
            trip.clicks_by_ad[e.ad_id] = trip.clicks_by_ad.get(e.ad_id, 0) + 1
            bisect.insort(cart.clicks, at_ms)
        elif e.event_type == _CONVERSION:
            trip.conversions += 1


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
    uploaded = {o.event_id for o in outcomes}
    recorded: dict[str, PastEvent] = {}
    for past in sorted(context.history, key=lambda p: p.receive_time_us):
        if past.event_id in uploaded:
            recorded[past.event_id] = past
            continue
        state.add(past)
    window_ms = policy.outlier_window_s * 1000
    out: list[EventOutcome] = []
    for j, o in zip(journaled, outcomes, strict=True):
        receive_us = o.receive_time_us or now_us
        receive_ms = receive_us // 1000
        before = recorded.get(o.event_id)
        if o.reject_reason or not o.event_id:
            out.append(o)
            continue
        if before is not None:
            # Already recorded: its verdict was given then, and it joins the history as it was.
            rule = before.invalid_rule
        else:
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
            ) or ivt.judge_stateful(
                event,
                payload,
                state.trips.get((o.cart_id, o.session_id), _Trip()).history(),
                state.carts.get(o.cart_id, _Cart()).window(receive_ms, window_ms),
                policy,
            )
        state.add(PastEvent(o.event_id, o.event_type, o.cart_id, o.session_id, o.ad_id, receive_us, rule))
        if rule and before is None:
            invalid = dataclasses.replace(o, invalid_rule=rule, billable=False, charge_micros=0)
            out.append(dataclasses.replace(invalid, ivt_disagrees=not j.invalid_rule))
        else:
            out.append(o)
    return out
