"""Conversion between the trip core's plain values and the cartads.v1 protobuf messages."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from cart_client.trip.core import AdFormat, AdRequest, EventKind, RecipeLine, ScreenAd, Trigger, TripEvent
from cartads.v1 import ad_service_pb2, common_pb2

_TRIGGERS = {
    Trigger.SESSION_START: common_pb2.TRIGGER_SESSION_START,
    Trigger.SCAN: common_pb2.TRIGGER_SCAN,
    Trigger.ZONE_ENTER: common_pb2.TRIGGER_ZONE_ENTER,
    Trigger.IDLE: common_pb2.TRIGGER_IDLE,
    Trigger.CHECKOUT: common_pb2.TRIGGER_CHECKOUT,
}

_FORMATS_TO_WIRE = {
    AdFormat.UNSPECIFIED: common_pb2.CREATIVE_FORMAT_UNSPECIFIED,
    AdFormat.SPONSORED_PRODUCT: common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
    AdFormat.BANNER: common_pb2.CREATIVE_FORMAT_BANNER,
    AdFormat.COUPON: common_pb2.CREATIVE_FORMAT_COUPON,
    AdFormat.RECIPE: common_pb2.CREATIVE_FORMAT_RECIPE,
}
_FORMATS_FROM_WIRE = {wire: fmt for fmt, wire in _FORMATS_TO_WIRE.items()}

_EVENT_TYPES = {
    EventKind.PLAY: common_pb2.EVENT_TYPE_AD_PLAY,
    EventKind.IMPRESSION: common_pb2.EVENT_TYPE_IMPRESSION,
    EventKind.CLICK: common_pb2.EVENT_TYPE_CLICK,
    EventKind.BASKET_ADD: common_pb2.EVENT_TYPE_BASKET_ADD,
    EventKind.BASKET_REMOVE: common_pb2.EVENT_TYPE_BASKET_REMOVE,
    EventKind.CHECKOUT: common_pb2.EVENT_TYPE_CHECKOUT,
}


def get_ads_request(
    request: AdRequest, *, store_id: str, cart_id: str, session_id: str
) -> ad_service_pb2.GetAdsRequest:
    """The GetAdsRequest for one of the trip core's ad requests."""
    return ad_service_pb2.GetAdsRequest(
        store_id=store_id,
        cart_id=cart_id,
        session_id=session_id,
        request_id=request.request_id,
        trigger=_TRIGGERS[request.trigger],
        scanned_product_id=request.scanned_product_id,
        zone_id=request.zone_id,
        basket=[common_pb2.BasketLine(product_id=pid, quantity=qty) for pid, qty in request.basket],
        slots=[common_pb2.Slot(slot_id=slot.slot_id, format=_FORMATS_TO_WIRE[slot.format]) for slot in request.slots],
    )


def screen_ads(response: ad_service_pb2.GetAdsResponse) -> list[ScreenAd]:
    """The ads of a GetAdsResponse as the screen shows them."""
    out = []
    for ad in response.ads:
        creative = ad.creative
        out.append(
            ScreenAd(
                ad_id=ad.ad_id,
                slot_id=ad.slot_id,
                tracking_token=ad.tracking_token,
                campaign_id=ad.campaign_id,
                line_item_id=ad.line_item_id,
                # A format newer than this cart is drawn from its text fields like any other.
                format=_FORMATS_FROM_WIRE.get(creative.format, AdFormat.UNSPECIFIED),
                headline=creative.headline,
                body=creative.body,
                call_to_action=creative.call_to_action,
                location_hint=creative.location_hint,
                promoted_product_id=creative.promoted_product_id,
                price_micros=creative.price_micros,
                offer_text=creative.offer_text,
                coupon_code=creative.coupon_code,
                image_url=creative.image_url,
                image_asset_sha256=creative.image_asset_sha256,
                recipe_items=tuple(
                    RecipeLine(r.name or r.product_id, r.location_hint, r.price_micros) for r in creative.recipe_items
                ),
            )
        )
    return out


def cart_event(event: TripEvent, *, cart_id: str, session_id: str) -> common_pb2.CartEvent:
    """The CartEvent for one of the trip core's events."""
    occur_time = Timestamp()
    occur_time.FromMilliseconds(event.occur_unix_ms)
    return common_pb2.CartEvent(
        event_id=event.event_id,
        type=_EVENT_TYPES[event.kind],
        cart_id=cart_id,
        session_id=session_id,
        tracking_token=event.tracking_token,
        ad_id=event.ad_id,
        product_id=event.product_id,
        quantity=event.quantity,
        visible_duration_ms=event.visible_duration_ms,
        occur_time=occur_time,
        purchased_lines=[common_pb2.BasketLine(product_id=pid, quantity=qty) for pid, qty in event.purchased],
        loyalty_id=event.loyalty_id,
    )
