"""Invalid traffic: the named rules an event is judged by, one implementation for edge and cloud. Pure.

The edge judges every event as it journals it (its verdict travels on the journaled event); the
cloud judges it again at ingest with the same thresholds (the index's ``IvtPolicy``) and its verdict
stands. An invalid event is kept with its rule, never billed, and never feeds learned rates,
attribution or budgets. A verdict is an ``InvalidTrafficRule`` value; 0 means valid.

The rules, in order of precedence (an event breaking several is recorded under the first), with
their defaults (each threshold is a field of ``IvtPolicy``; GIVT/SIVT as the IAB/MRC guidelines
class them: general or sophisticated invalid traffic):

Stateless (``judge_stateless``: the event, its token and the call it came in say it alone)

1. TOKEN (GIVT) — an ad play, impression, click or conversion whose token is missing, does not verify, was
   issued to another store, cart or session, or for another ad, carries no issue time, or was
   received more than the token's time to live after its decision. A dismiss or basket event is
   not judged by its token (nothing is billed on it). A play bills nothing either, but it is
   counted in reports (the viewability rate's denominator), so only a play of a real decision counts.
2. NON_PRODUCTION_CART (GIVT) — any event of a cart enrolled as test or staff.
3. UNENROLLED_CART (GIVT, cloud only) — any event whose credential was unknown, revoked, or of
   another cart or store when the cloud received it (the edge refuses such a cart at the door).
4. OUT_OF_BOUNDS (GIVT) — a quantity above ``max_quantity`` (99), or a value (shelf price ×
   quantity) above ``max_event_value_micros`` (10,000 USD), in one event.
5. EVENT_TIME (GIVT) — the call's cart clock is further than ``max_clock_offset_ms`` (5 min) from
   the edge's; or the event's ``occur_time``, corrected by that offset, is more than
   ``event_time_slack_ms`` (5 s) before its decision or after its receipt, or is after its token's
   expiry. The slack absorbs the error of the offset (network delay), so honest carts pass. A cart
   that sent no send_time has no offset (none is checked or corrected); an event without an
   occur_time is taken at its receipt, as attribution takes it.
6. TOO_FAST (SIVT) — an impression received less than ``min_impression_after_decision_ms`` (1 s),
   or a click less than ``min_click_after_decision_ms`` (1 s), after its decision: a person cannot
   have seen the ad for a viewable second sooner. Both times are the edge's clock.
7. VISIBLE_DURATION (GIVT) — an impression visible for less than ``viewability_min_ms`` (1 s: the
   viewability threshold), more than ``max_visible_ms`` (4 h), or longer than the time from its
   decision to its receipt plus ``visible_slack_ms`` (2 s).

Stateful (``judge_stateful``: given the trip's and the cart's earlier valid events)

8. CLICK_WITHOUT_IMPRESSION (SIVT) — a click whose ad has no valid impression earlier in the trip
   (earlier in the same call included: the caller adds each valid event before judging the next).
9. CLICK_CAP (SIVT) — a click past ``max_clicks_per_session`` (10) in the trip, or past
   ``max_clicks_per_ad`` (3) on its ad (only the first bills anyway).
10. CLICK_RATE_OUTLIER (SIVT) — a click that makes the cart's clicks in the last
    ``outlier_window_s`` (60 min) at least ``outlier_min_clicks`` (8) and more than
    ``outlier_max_ctr`` (0.5) per impression.
11. CONVERSION (SIVT) — a conversion whose ad has no valid impression in the trip (or, attributed
   to a click, no valid click), whose basket add was invalid, or past ``max_conversions_per_session``
   (20) in the trip.

Every stateless rule precedes every stateful one, so a caller judges ``judge_stateless(...) or
judge_stateful(...)``. History counts only valid events: an event judged invalid is not added to it.
Both judges are total: any ``CartEvent`` gets a verdict, never an exception. Hard bounds (negative
durations, quantities ≤ 0, timestamps outside 2020–2100) are not invalid traffic but refused as
INVALID_ARGUMENT before judging; here such values simply fail the rules they meet.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from cartads.v1 import common_pb2, index_pb2
from cartads.v1.common_pb2 import CartEvent
from cartads.v1.tracking_pb2 import TrackingTokenPayload

VALID = 0
CLICK_WITHOUT_IMPRESSION = common_pb2.INVALID_TRAFFIC_RULE_CLICK_WITHOUT_IMPRESSION
TOO_FAST = common_pb2.INVALID_TRAFFIC_RULE_TOO_FAST
VISIBLE_DURATION = common_pb2.INVALID_TRAFFIC_RULE_VISIBLE_DURATION
CLICK_CAP = common_pb2.INVALID_TRAFFIC_RULE_CLICK_CAP
EVENT_TIME = common_pb2.INVALID_TRAFFIC_RULE_EVENT_TIME
OUT_OF_BOUNDS = common_pb2.INVALID_TRAFFIC_RULE_OUT_OF_BOUNDS
NON_PRODUCTION_CART = common_pb2.INVALID_TRAFFIC_RULE_NON_PRODUCTION_CART
CLICK_RATE_OUTLIER = common_pb2.INVALID_TRAFFIC_RULE_CLICK_RATE_OUTLIER
TOKEN = common_pb2.INVALID_TRAFFIC_RULE_TOKEN
CONVERSION = common_pb2.INVALID_TRAFFIC_RULE_CONVERSION
UNENROLLED_CART = common_pb2.INVALID_TRAFFIC_RULE_UNENROLLED_CART

STATELESS_RULES = (TOKEN, NON_PRODUCTION_CART, UNENROLLED_CART, OUT_OF_BOUNDS, EVENT_TIME, TOO_FAST, VISIBLE_DURATION)
STATEFUL_RULES = (CLICK_WITHOUT_IMPRESSION, CLICK_CAP, CLICK_RATE_OUTLIER, CONVERSION)

_IMPRESSION = common_pb2.EVENT_TYPE_IMPRESSION
_CLICK = common_pb2.EVENT_TYPE_CLICK
_CONVERSION = common_pb2.EVENT_TYPE_CONVERSION
_AD_PLAY = common_pb2.EVENT_TYPE_AD_PLAY
# The events a token makes billable or countable: judged by their token. A play may follow its
# decision at once (the cart renders the ad as soon as it has it), so TOO_FAST and VISIBLE_DURATION
# do not apply to it.
_TOKEN_EVENTS = frozenset({_AD_PLAY, _IMPRESSION, _CLICK, _CONVERSION})
_NON_PRODUCTION = frozenset({common_pb2.CART_TRAFFIC_CLASS_TEST, common_pb2.CART_TRAFFIC_CLASS_STAFF})
_CLICK_THROUGH = common_pb2.ATTRIBUTION_KIND_CLICK_THROUGH
# The events the stateful rules judge.
_JUDGED_IN_TRIP = frozenset({_CLICK, _CONVERSION})


def rule_order() -> tuple[int, ...]:
    """Every rule in order of precedence: an event breaking several is recorded under the first."""
    return STATELESS_RULES + STATEFUL_RULES


@dataclass(frozen=True, slots=True)
class IvtPolicy:
    """The rules' thresholds (the index's ``IvtPolicy``, every field filled); see the module docstring."""

    viewability_min_ms: int = 1_000
    min_impression_after_decision_ms: int = 1_000
    min_click_after_decision_ms: int = 1_000
    max_visible_ms: int = 4 * 3_600_000
    visible_slack_ms: int = 2_000
    max_clicks_per_session: int = 10
    max_clicks_per_ad: int = 3
    max_clock_offset_ms: int = 5 * 60_000
    event_time_slack_ms: int = 5_000
    max_quantity: int = 99
    max_event_value_micros: int = 10_000 * 1_000_000
    outlier_window_s: int = 3_600
    outlier_min_clicks: int = 8
    outlier_max_ctr: float = 0.5
    max_conversions_per_session: int = 20


DEFAULT_POLICY = IvtPolicy()
_POLICY_FIELDS = tuple(f.name for f in fields(IvtPolicy))


def policy_from_pb(pb: index_pb2.IvtPolicy | None) -> IvtPolicy:
    """The policy an index carries; a field left 0 (or no policy at all) takes its default."""
    if pb is None:
        return DEFAULT_POLICY
    return IvtPolicy(**{name: getattr(pb, name) or getattr(DEFAULT_POLICY, name) for name in _POLICY_FIELDS})


def policy_to_pb(policy: IvtPolicy) -> index_pb2.IvtPolicy:
    """The index's copy of ``policy``, every threshold written out (so an edge and the cloud's record
    of a version judge with the numbers of that version, whatever later defaults become)."""
    return index_pb2.IvtPolicy(**{name: getattr(policy, name) for name in _POLICY_FIELDS})


class TokenCheck(enum.IntEnum):
    """What the caller found when it verified the event's token (ignored for an event without one)."""

    # The signature matches; the payload passed along is the verified one.
    VERIFIED = 1
    # Malformed, or the signature does not match.
    INVALID = 2
    # Signed with a key the caller does not hold (another edge box's): left to the cloud, which does.
    UNVERIFIABLE = 3


@dataclass(frozen=True, slots=True)
class TripHistory:
    """A trip's (cart session's) earlier valid events."""

    # Ads with a valid impression.
    impressed_ad_ids: frozenset[str] = frozenset()
    clicks: int = 0
    clicks_by_ad: Mapping[str, int] = field(default_factory=dict)
    conversions: int = 0
    # Event ids of the trip's basket adds judged invalid: a conversion of one is invalid too.
    invalid_add_ids: frozenset[str] = frozenset()
    # False when earlier events of the trip may be missing (the edge restarted during the trip):
    # rules that need an event's absence (a click's impression, a conversion's exposure) are then
    # not applied; caps still are, on what is known.
    complete: bool = True


@dataclass
class TripTally:
    """A trip's valid events as a judge accumulates them (the edge's and the cloud's keep one per
    trip); ``history`` is what the stateful rules read."""

    impressed: set[str] = field(default_factory=set)
    clicks: int = 0
    clicks_by_ad: dict[str, int] = field(default_factory=dict)
    conversions: int = 0
    invalid_adds: set[str] = field(default_factory=set)
    complete: bool = True

    def history(self) -> TripHistory:
        return TripHistory(
            frozenset(self.impressed),
            self.clicks,
            self.clicks_by_ad,
            self.conversions,
            frozenset(self.invalid_adds),
            self.complete,
        )


@dataclass(frozen=True, slots=True)
class CartWindow:
    """The cart's valid impressions and clicks within the last ``outlier_window_s``."""

    impressions: int = 0
    clicks: int = 0


def _token_is_bad(
    event: CartEvent,
    payload: TrackingTokenPayload | None,
    token: TokenCheck,
    *,
    store_id: str,
    receive_ms: int,
    token_ttl_ms: int,
) -> bool:
    if not event.tracking_token or token == TokenCheck.INVALID:
        return True
    if payload is None:
        return False  # not verifiable here (another edge's key): the cloud judges it
    if payload.store_id != store_id or payload.cart_id != event.cart_id or payload.session_id != event.session_id:
        return True
    if not payload.ad_id or (event.ad_id and event.ad_id != payload.ad_id):
        return True
    issued_ms = payload.issue_time_unix_ms
    return issued_ms <= 0 or (token_ttl_ms > 0 and receive_ms - issued_ms > token_ttl_ms)


def _out_of_bounds(event: CartEvent, policy: IvtPolicy) -> bool:
    quantity = event.quantity
    # Valued as billing values it: shelf price × quantity, at least one unit.
    value = max(0, event.unit_price_micros) * max(1, quantity)
    return quantity > policy.max_quantity or value > policy.max_event_value_micros


def _bad_event_time(
    event: CartEvent,
    issued_ms: int | None,
    receive_ms: int,
    *,
    clock_offset_ms: int | None,
    token_ttl_ms: int,
    policy: IvtPolicy,
) -> bool:
    offset = clock_offset_ms or 0
    if abs(offset) > policy.max_clock_offset_ms:
        return True
    if not event.HasField("occur_time"):
        return False  # the edge takes the receive time for it
    occur = event.occur_time
    at_ms = occur.seconds * 1000 + occur.nanos // 1_000_000 + offset  # on the edge's clock
    slack = policy.event_time_slack_ms
    if at_ms > receive_ms + slack:
        return True
    if issued_ms is None:
        return False
    return at_ms < issued_ms - slack or (token_ttl_ms > 0 and at_ms > issued_ms + token_ttl_ms)


def _too_fast(event_type: int, issued_ms: int | None, receive_ms: int, policy: IvtPolicy) -> bool:
    if issued_ms is None:
        return False
    if event_type == _IMPRESSION:
        return receive_ms - issued_ms < policy.min_impression_after_decision_ms
    if event_type == _CLICK:
        return receive_ms - issued_ms < policy.min_click_after_decision_ms
    return False


def _bad_visible_duration(event: CartEvent, issued_ms: int | None, receive_ms: int, policy: IvtPolicy) -> bool:
    visible = event.visible_duration_ms
    if visible < policy.viewability_min_ms or visible > policy.max_visible_ms:
        return True
    return issued_ms is not None and visible > receive_ms - issued_ms + policy.visible_slack_ms


def judge_stateless(
    event: CartEvent,
    payload: TrackingTokenPayload | None,
    *,
    token: TokenCheck,
    store_id: str,
    receive_ms: int,
    clock_offset_ms: int | None,
    traffic_class: int,
    token_ttl_ms: int,
    policy: IvtPolicy,
    cart_enrolled: bool = True,
) -> int:
    """The first stateless rule ``event`` breaks, or VALID (0).

    ``payload`` is the token's verified payload (with ``token`` VERIFIED), ``receive_ms`` when the
    edge received the event (edge clock; the journaled receive_time at the cloud),
    ``clock_offset_ms`` the edge's receive time minus the call's send_time (None when the cart sent
    none), ``traffic_class`` the cart's ``CartTrafficClass``, ``token_ttl_ms`` the index's token time
    to live, and ``cart_enrolled`` whether the credential was the store's cart's, unrevoked, at
    receipt (the cloud's check; the edge refuses other carts before judging).
    """
    event_type = event.type
    verified = payload if token == TokenCheck.VERIFIED and event_type in _TOKEN_EVENTS else None
    if event_type in _TOKEN_EVENTS and _token_is_bad(
        event, verified, token, store_id=store_id, receive_ms=receive_ms, token_ttl_ms=token_ttl_ms
    ):
        return TOKEN
    if traffic_class in _NON_PRODUCTION:
        return NON_PRODUCTION_CART
    if not cart_enrolled:
        return UNENROLLED_CART
    if _out_of_bounds(event, policy):
        return OUT_OF_BOUNDS
    issued_ms = verified.issue_time_unix_ms if verified is not None else None
    if _bad_event_time(
        event, issued_ms, receive_ms, clock_offset_ms=clock_offset_ms, token_ttl_ms=token_ttl_ms, policy=policy
    ):
        return EVENT_TIME
    if _too_fast(event_type, issued_ms, receive_ms, policy):
        return TOO_FAST
    if event_type == _IMPRESSION and _bad_visible_duration(event, issued_ms, receive_ms, policy):
        return VISIBLE_DURATION
    return VALID


def _click_rule(ad_id: str, trip: TripHistory, window: CartWindow, policy: IvtPolicy) -> int:
    if trip.complete and ad_id not in trip.impressed_ad_ids:
        return CLICK_WITHOUT_IMPRESSION
    if trip.clicks >= policy.max_clicks_per_session or trip.clicks_by_ad.get(ad_id, 0) >= policy.max_clicks_per_ad:
        return CLICK_CAP
    clicks = window.clicks + 1  # this one included
    if clicks >= policy.outlier_min_clicks and clicks > policy.outlier_max_ctr * window.impressions:
        return CLICK_RATE_OUTLIER
    return VALID


def _conversion_rule(event: CartEvent, ad_id: str, trip: TripHistory, policy: IvtPolicy) -> int:
    if trip.conversions >= policy.max_conversions_per_session or event.attributed_event_id in trip.invalid_add_ids:
        return CONVERSION
    if trip.complete and (
        ad_id not in trip.impressed_ad_ids
        or (event.attribution == _CLICK_THROUGH and trip.clicks_by_ad.get(ad_id, 0) <= 0)
    ):
        return CONVERSION
    return VALID


def judge_stateful(
    event: CartEvent,
    payload: TrackingTokenPayload | None,
    trip: TripHistory,
    window: CartWindow,
    policy: IvtPolicy,
) -> int:
    """The first stateful rule ``event`` breaks given its trip's and cart's earlier valid events, or
    VALID (0). ``payload`` is the verified token payload when there is one: its ad id is the ad's."""
    event_type = event.type
    if event_type not in _JUDGED_IN_TRIP:
        return VALID
    ad_id = payload.ad_id if payload is not None else event.ad_id
    if event_type == _CLICK:
        return _click_rule(ad_id, trip, window, policy)
    return _conversion_rule(event, ad_id, trip, policy)
