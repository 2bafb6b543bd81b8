"""Honest events and the call they came in, for the invalid traffic rules' tests to break one way at a time."""

from __future__ import annotations

from dataclasses import dataclass, replace

from google.protobuf.timestamp_pb2 import Timestamp

from cartads import ivt
from cartads.v1 import common_pb2
from cartads.v1.common_pb2 import CartEvent
from cartads.v1.tracking_pb2 import TrackingTokenPayload

DECISION_MS = 1_700_000_000_000  # when the edge made the decision (its clock)
TTL_MS = 7_200_000
STORE = "s1"
CART = "cart-1"
SESSION = "trip-1"
AD = "ad-1"
PRODUCTION = common_pb2.CART_TRAFFIC_CLASS_PRODUCTION
AD_EVENTS = (common_pb2.EVENT_TYPE_IMPRESSION, common_pb2.EVENT_TYPE_CLICK, common_pb2.EVENT_TYPE_CONVERSION)


def timestamp(ms: int) -> Timestamp:
    return Timestamp(seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000)


def payload(**changes: object) -> TrackingTokenPayload:
    """The verified payload of the decision every ad event below is about."""
    fields: dict[str, object] = {
        "ad_id": AD,
        "store_id": STORE,
        "cart_id": CART,
        "session_id": SESSION,
        "line_item_id": "li-1",
        "pricing_model": common_pb2.PRICING_MODEL_CPC,
        "price_micros": 500_000,
        "issue_time_unix_ms": DECISION_MS,
    }
    fields.update(changes)
    return TrackingTokenPayload(**fields)  # type: ignore[arg-type]


def event(event_type: int, occur_ms: int | None = DECISION_MS + 2_000, **changes: object) -> CartEvent:
    """An event of the trip: an ad event carries the decision's token; by default it happened 2 s in."""
    ad_event = event_type in (
        common_pb2.EVENT_TYPE_AD_PLAY,
        common_pb2.EVENT_TYPE_IMPRESSION,
        common_pb2.EVENT_TYPE_CLICK,
        common_pb2.EVENT_TYPE_CONVERSION,
    )
    fields: dict[str, object] = {
        "event_id": f"e-{event_type}",
        "type": event_type,
        "cart_id": CART,
        "session_id": SESSION,
        "ad_id": AD if ad_event else "",
        "tracking_token": "token" if ad_event else "",
    }
    if event_type == common_pb2.EVENT_TYPE_IMPRESSION:
        fields["visible_duration_ms"] = 1_500
    if event_type in (common_pb2.EVENT_TYPE_BASKET_ADD, common_pb2.EVENT_TYPE_CONVERSION):
        fields.update(product_id="p-1", quantity=1, unit_price_micros=2_990_000)
    fields.update(changes)
    built = CartEvent(**fields)  # type: ignore[arg-type]
    if occur_ms is not None:
        built.occur_time.CopyFrom(timestamp(occur_ms))
    return built


@dataclass(frozen=True)
class Call:
    """What the judge knows besides the event: the token check, the call's timing and the cart."""

    payload: TrackingTokenPayload | None = None
    token: ivt.TokenCheck = ivt.TokenCheck.VERIFIED
    receive_ms: int = DECISION_MS + 2_500
    clock_offset_ms: int | None = 0
    traffic_class: int = PRODUCTION
    token_ttl_ms: int = TTL_MS
    policy: ivt.IvtPolicy = ivt.DEFAULT_POLICY
    cart_enrolled: bool = True

    def judge(self, judged: CartEvent) -> int:
        return ivt.judge_stateless(
            judged,
            payload() if self.payload is None else self.payload,
            token=self.token,
            store_id=STORE,
            receive_ms=self.receive_ms,
            clock_offset_ms=self.clock_offset_ms,
            traffic_class=self.traffic_class,
            token_ttl_ms=self.token_ttl_ms,
            policy=self.policy,
            cart_enrolled=self.cart_enrolled,
        )

    def but(self, **changes: object) -> Call:
        return replace(self, **changes)  # type: ignore[arg-type]


HONEST = Call()
