"""What one uploaded event is worth: token checks and charges. Pure."""

from __future__ import annotations

from cartads import tracking_token
from cartads.time_units import ts_to_us
from cartads.v1 import admin_pb2, common_pb2, event_ingest_pb2, tracking_pb2
from cloud_core.events.charges import ChargePolicy, ChargeRecords, terms_problem, verify_token
from cloud_core.events.outcomes import EventOutcome
from cloud_core.events.sales_tokens import SALE_TYPES, sale_token_problem

_KNOWN_TYPES = frozenset(common_pb2.EventType.values()) - {common_pb2.EVENT_TYPE_UNSPECIFIED}
BILLABLE_TYPES = frozenset(
    {common_pb2.EVENT_TYPE_IMPRESSION, common_pb2.EVENT_TYPE_CLICK, common_pb2.EVENT_TYPE_CONVERSION}
)


def charge_micros(pricing_model: int, event_type: int, price_micros: int) -> int:
    """CPM charges price/1000 per impression, CPC the price per click, CPA the price per conversion."""
    if pricing_model == common_pb2.PRICING_MODEL_CPM and event_type == common_pb2.EVENT_TYPE_IMPRESSION:
        return round(price_micros / 1000)
    if pricing_model == common_pb2.PRICING_MODEL_CPC and event_type == common_pb2.EVENT_TYPE_CLICK:
        return price_micros
    if pricing_model == common_pb2.PRICING_MODEL_CPA and event_type == common_pb2.EVENT_TYPE_CONVERSION:
        return price_micros
    return 0


def event_value_micros(event: common_pb2.CartEvent) -> int:
    """What the products of a basket add or conversion are worth at the edge's shelf price."""
    return max(0, event.unit_price_micros) * max(1, event.quantity)


def billing_key(ad_id: str, event_type: int, product_id: str) -> str:
    """What makes a charge unique per kind: the decision, and for conversions also the product."""
    return f"{ad_id}/{product_id}" if event_type == common_pb2.EVENT_TYPE_CONVERSION else ad_id


def token_problem(
    event: common_pb2.CartEvent,
    payload: tracking_pb2.TrackingTokenPayload,
    store_id: str,
    receive_time_us: int,
    token_ttl_s: int,
) -> str:
    """Why a correctly signed token still does not vouch for this event, or "" when it does."""
    if payload.store_id != store_id:
        return f"token was issued for store {payload.store_id!r}"
    if payload.cart_id != event.cart_id:
        return "token was issued to another cart"
    if payload.session_id != event.session_id:
        return "token was issued in another session"
    if event.ad_id and event.ad_id != payload.ad_id:
        return "token is for another ad"
    if not payload.ad_id:
        return "token has no ad_id"
    if receive_time_us and payload.issue_time_unix_ms and token_ttl_s > 0:
        age_ms = receive_time_us // 1000 - payload.issue_time_unix_ms
        if age_ms > token_ttl_s * 1000:
            return "token expired"
    return ""


def _judge(
    event: common_pb2.CartEvent, policy: ChargePolicy, records: ChargeRecords, receive_us: int, token_ttl_s: int
) -> tuple[str, int, str, tracking_pb2.TrackingTokenPayload | None]:
    """(reject reason or "", its DeadLetterReason, the token's key id, the verified token payload when
    there is one)."""
    if not event.event_id:
        return "missing event_id", 0, "", None
    if event.type not in _KNOWN_TYPES:
        return "unknown event type", 0, "", None
    billable = event.type in BILLABLE_TYPES
    if not event.tracking_token:
        return ("missing tracking_token" if billable else ""), 0, "", None
    verdict = verify_token(event.tracking_token, policy, records, records.peeked.get(event.tracking_token))
    payload = verdict.payload
    if payload is None:
        # A bad token on an event we do not bill (e.g. a dismiss) is kept, just not attributed.
        return (verdict.reason if billable else ""), (verdict.code if billable else 0), verdict.key_id, None
    check = sale_token_problem if event.type in SALE_TYPES else token_problem
    problem = check(event, payload, policy.store_id, receive_us, token_ttl_s)
    if problem:
        code = admin_pb2.DEAD_LETTER_REASON_TOKEN_MISMATCH if billable else 0
        return (problem if billable else ""), code, verdict.key_id, None
    if billable:
        code, text = terms_problem(payload, policy, records)
        if code:
            return text, code, verdict.key_id, None
    return "", 0, verdict.key_id, payload


def _claimed(event: common_pb2.CartEvent) -> int:
    """What a refused event's token would have charged (unverified: for the dead letter only)."""
    try:
        payload = tracking_token.peek(event.tracking_token)
    except tracking_token.InvalidTokenError:
        return 0
    return charge_micros(payload.pricing_model, event.type, payload.price_micros)


def assess_event(
    journaled: event_ingest_pb2.JournaledEvent, policy: ChargePolicy, records: ChargeRecords, token_ttl_s: int
) -> EventOutcome:
    """The outcome to record for one event: billable, recorded only, or rejected with a reason."""
    event = journaled.event
    receive_us = ts_to_us(journaled.receive_time) if journaled.HasField("receive_time") else 0
    reason, code, key_id, payload = _judge(event, policy, records, receive_us, token_ttl_s)
    # Built once (no dataclasses.replace): ingest assesses tens of thousands of events a second.
    billable = payload is not None and event.type in BILLABLE_TYPES
    sale = payload is not None and event.type in SALE_TYPES
    return EventOutcome(
        seq=journaled.seq,
        event_id=event.event_id,
        event_type=int(event.type),
        cart_id=event.cart_id,
        session_id=event.session_id,
        event_blob=event.SerializeToString(),
        occur_time_us=ts_to_us(event.occur_time) if event.HasField("occur_time") else 0,
        receive_time_us=receive_us,
        ad_id=payload.ad_id if payload is not None else event.ad_id,
        advertiser_id=payload.advertiser_id if payload is not None else "",
        campaign_id=payload.campaign_id if payload is not None else "",
        line_item_id=payload.line_item_id if payload is not None else "",
        pricing_model=int(payload.pricing_model) if payload is not None else 0,
        billable=billable,
        charge_micros=charge_micros(payload.pricing_model, event.type, payload.price_micros)
        if payload is not None and billable
        else 0,
        reject_reason=reason,
        product_id=event.product_id,
        creative_id=payload.creative_id if payload is not None else "",
        experiment_arms=tuple(
            (a.layer_id, a.arm_id) for a in (payload.experiment_arms if payload is not None else event.experiment_arms)
        ),
        sales_micros=event_value_micros(event) if event.type == common_pb2.EVENT_TYPE_CONVERSION else 0,
        advertised_sales_micros=event_value_micros(event)
        if event.type == common_pb2.EVENT_TYPE_BASKET_ADD and event.advertised_product
        else 0,
        trigger=int(payload.trigger) if payload is not None else 0,
        reject_code=code,
        signing_key_id=key_id,
        claimed_charge_micros=_claimed(event) if reason and event.tracking_token else 0,
        token_issue_ms=payload.issue_time_unix_ms if payload is not None else 0,
        sale_units=event.quantity if sale else 0,
        sale_micros=event_value_micros(event) if sale else 0,
        attribution=int(event.attribution) if sale else 0,
    )
