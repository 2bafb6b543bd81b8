"""What happens to reported events at the edge: verify, judge, attribute, price, journal (group commit).

The shell between ReportEvents and the journal. Every event is judged for invalid traffic
(``ivt_state``) and journaled whatever its token or verdict, because the cloud decides what is
billed; only valid events with a verified token are attributed and count towards local lease spend.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cartads import ivt, tracking_token
from cartads.cart_limits import DEFAULT_LIMITS
from cartads.v1.common_pb2 import ArmAssignment, CartEvent, CartTrafficClass, EventType
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from edge_node.config import EdgeConfig
from edge_node.events.attribution import AdContext, Attributor
from edge_node.events.group_commit import GroupCommitter
from edge_node.events.ivt_state import CallContext, IvtJudge
from edge_node.events.journal import Journal, JournalWrite
from edge_node.events.leases import LeaseCharge, LeaseSpend, ServingSpend, charge_for
from edge_node.events.sales import AdReach, SalesAttributor, SalesPolicy
from edge_node.events.sales_events import SALE_TYPES, ad_reach, observe_sales
from edge_node.index.holder import SigningKeys, verify_keys
from edge_node.index.view import ServingView

_AD_TYPES = frozenset({EventType.EVENT_TYPE_IMPRESSION, EventType.EVENT_TYPE_CLICK})
_CONVERSION = EventType.EVENT_TYPE_CONVERSION
_BASKET_ADD = EventType.EVENT_TYPE_BASKET_ADD
_PRODUCTION = CartTrafficClass.CART_TRAFFIC_CLASS_PRODUCTION


@dataclass(frozen=True)
class RecordResult:
    """What one ReportEvents call journaled."""

    accepted_count: int
    duplicate_count: int
    conversion_count: int
    # Sales attributed (or halo) at checkouts of this call, newly journaled.
    sale_count: int = 0


def _verified(keys: Mapping[str, bytes], store_id: str, token: str) -> TrackingTokenPayload | None:
    try:
        payload = tracking_token.verify_with(token, keys)
    except tracking_token.InvalidTokenError:
        return None
    return payload if payload.store_id == store_id else None


def _checked(keys: Mapping[str, bytes], token: str) -> tuple[TrackingTokenPayload | None, ivt.TokenCheck]:
    """The token's payload and what its check found, for the invalid traffic rules (which compare
    the payload's store, cart and session with the event's themselves)."""
    if not token:
        return None, ivt.TokenCheck.INVALID
    try:
        return tracking_token.verify_with(token, keys), ivt.TokenCheck.VERIFIED
    except tracking_token.InvalidTokenError:
        return None, ivt.TokenCheck.INVALID


def _promoted(view: ServingView, payload: TrackingTokenPayload) -> frozenset[str]:
    creative = view.creatives.get(payload.creative_id)
    if creative is not None and creative.promoted_product_id:
        return frozenset({creative.promoted_product_id})
    line_item = view.line_items.get(payload.line_item_id)
    return line_item.promoted_product_ids if line_item is not None else frozenset()


def stamp_events(events: Sequence[CartEvent], view: ServingView | None) -> None:
    """Set the fields only the edge may set, replacing whatever the cart sent: each event's experiment
    arms (from its session), and on basket adds the product's price and whether it is advertised."""
    plans: dict[str, tuple[ArmAssignment, ...]] = {}
    for event in events:
        event.ClearField("experiment_arms")
        event.unit_price_micros = 0
        event.advertised_product = False
        if view is None:
            continue
        arms = plans.get(event.session_id)
        if arms is None:
            arms = plans[event.session_id] = view.experiments.plan_for(event.session_id).arm_pbs
        if arms:
            event.experiment_arms.extend(arms)
        if event.type == _BASKET_ADD and event.product_id:
            product = view.products.get(event.product_id)
            event.unit_price_micros = product.price_micros if product is not None else 0
            event.advertised_product = event.product_id in view.experiments.advertised


def _stamp_conversion(conversion: CartEvent, view: ServingView, payload: TrackingTokenPayload) -> None:
    # A conversion belongs to its decision: the arms the token was signed with, not the session's now.
    conversion.experiment_arms.extend(payload.experiment_arms)
    product = view.products.get(conversion.product_id)
    conversion.unit_price_micros = product.price_micros if product is not None else 0


class EventPipeline:
    """Journals cart events with their conversions and lease spend; answers pushback questions."""

    def __init__(
        self,
        config: EdgeConfig,
        journal: Journal,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._journal = journal
        self._clock = clock
        self.committer = GroupCommitter(journal, config.group_commit_max_events)
        self.spend = LeaseSpend(journal.load_lease_spend(int(clock() * 1000)))
        self.attributor = Attributor(int(config.attribution_window_s * 1000), config.max_sessions)
        self.sales = SalesAttributor(
            SalesPolicy(
                max_trips=config.max_sessions,
                max_loyalty_ids=config.sales_max_loyalty_ids,
                loyalty_max_carts=config.loyalty_max_carts,
                loyalty_share_window_ms=int(config.loyalty_share_window_s * 1000),
            )
        )
        self.ivt = IvtJudge(config.max_sessions, DEFAULT_LIMITS.sessions_per_cart, started_ms=int(clock() * 1000))
        self._last_ack_unix_ms = 0

    def paid_ads_allowed(self) -> bool:
        """False while the journal is above its soft limit: only house ads serve then."""
        return self._journal.unsent_bytes() < self._config.journal_soft_limit_bytes

    def serving_spend(self, view: ServingView, now_unix_ms: int, *, paid_allowed: bool = True) -> ServingSpend:
        """Local spend per line item for selection; stopped line items read as over any allowance.

        ``paid_allowed`` False stops paid ads for this request alone (a cart at its journal share).
        """
        return ServingSpend(view, self.spend, now_unix_ms, paid_allowed and self.paid_ads_allowed())

    def cart_unsent(self, cart_id: str) -> int:
        """How many bytes of the cart's events wait in the journal for the cloud."""
        return self._journal.unsent_bytes_for(cart_id)

    def _judge(
        self, view: ServingView, keys: Mapping[str, bytes], event: CartEvent, call: CallContext
    ) -> tuple[int, TrackingTokenPayload | None]:
        """The event's invalid traffic verdict, and its verified token payload (None when it did not verify)."""
        payload, check = _checked(keys, event.tracking_token)
        verdict = self.ivt.judge(event, payload, check, call, view.cart_traffic.get(event.cart_id, _PRODUCTION))
        return verdict, payload

    async def record(
        self,
        events: Sequence[CartEvent],
        view: ServingView | None,
        keys: SigningKeys | None = None,
        *,
        send_time_unix_ms: int | None = None,
        cart_credential_id: str = "",
    ) -> RecordResult:
        """Journal ``events`` and the conversions they cause durably, stamped with the credential the
        cart authenticated with; raises JournalFullError.

        Tokens are verified with this edge's own ``keys`` (and the index's shared key of older
        versions). ``send_time_unix_ms`` is the call's send_time (the cart's clock), when it sent one."""
        receive_unix_ms = int(self._clock() * 1000)
        offset_ms = receive_unix_ms - send_time_unix_ms if send_time_unix_ms is not None else None
        charges: dict[str, LeaseCharge] = {}
        conversions: list[CartEvent] = []
        sales: list[CartEvent] = []
        verdicts: dict[str, int] = {}
        stamp_events(events, view)
        if view is not None:
            verify = verify_keys(view, keys)
            self.ivt.sessions_per_cart = view.cart_limits.sessions_per_cart
            ttl_ms = view.token_ttl_s * 1000
            call = CallContext(self._config.store_id, receive_unix_ms, offset_ms, ttl_ms, view.ivt_policy)
            ads: dict[str, AdContext] = {}
            reaches: dict[str, AdReach] = {}
            valid: list[CartEvent] = []
            for event in events:
                verdict, payload = self._judge(view, verify, event, call)
                if verdict:
                    # Kept and uploaded, never attributed or counted as spend.
                    verdicts[event.event_id] = verdict
                    continue
                valid.append(event)
                if event.type not in _AD_TYPES or payload is None or payload.store_id != self._config.store_id:
                    continue
                promoted = _promoted(view, payload)
                ads[event.event_id] = AdContext(payload.ad_id, event.tracking_token, promoted)
                reaches[event.event_id] = ad_reach(view, payload, event.tracking_token, promoted)
                charge = charge_for(view, payload, event.type)
                if charge is not None:
                    charges[event.event_id] = charge
            conversions = self.attributor.observe(valid, ads, receive_unix_ms)
            for conversion in conversions:
                payload = _verified(verify, self._config.store_id, conversion.tracking_token)
                if payload is not None:
                    _stamp_conversion(conversion, view, payload)
                verdict, _ = self._judge(view, verify, conversion, call)
                if verdict:
                    verdicts[conversion.event_id] = verdict
                    continue
                charge = charge_for(view, payload, conversion.type) if payload is not None else None
                if charge is not None:
                    charges[conversion.event_id] = charge
            sales = observe_sales(self.sales, valid, reaches, view, receive_unix_ms)
            for sale in sales:
                # Judged as the cart's own events are (bounds, cart class, time); its token is the
                # ad's, verified when the ad reached the shopper, perhaps on an earlier trip.
                traffic = view.cart_traffic.get(sale.cart_id, _PRODUCTION)
                verdict = self.ivt.judge(sale, None, ivt.TokenCheck.VERIFIED, call, traffic)
                if verdict:
                    verdicts[sale.event_id] = verdict
        write = JournalWrite(
            [*events, *conversions, *sales],
            receive_unix_ms,
            lambda e: charges.get(e.event_id),
            invalid_rules=verdicts,
            clock_offset_ms=offset_ms or 0,
            cart_credential_id=cart_credential_id,
        )
        result = await self.committer.submit(write)
        self.spend.add(result.charges)
        made = sum(1 for j in result.accepted if j.event.type == _CONVERSION) if conversions else 0
        sold = sum(1 for j in result.accepted if j.event.type in SALE_TYPES) if sales else 0
        return RecordResult(len(result.accepted) - made - sold, result.duplicate_count, made, sold)

    def mark_acknowledged(self) -> None:
        """The cloud acknowledged an upload now (for the upload lag metric)."""
        self._last_ack_unix_ms = int(self._clock() * 1000)

    def oldest_unsent_age_s(self) -> float:
        """How long the oldest event waiting for the cloud has waited; 0 when none waits."""
        oldest = self._journal.oldest_receive_unix_ms()
        return max(0.0, self._clock() - oldest / 1000) if oldest else 0.0

    def upload_lag_s(self) -> float:
        """Time since the cloud last acknowledged anything while events wait; 0 when none waits."""
        if self._journal.depth() == 0:
            return 0.0
        since_ms = max(self._last_ack_unix_ms, self._journal.oldest_receive_unix_ms())
        return max(0.0, self._clock() - since_ms / 1000)
