"""Between the event pipeline and the sales attribution core: index facts in, sale events out.

Everything a sale says comes from the edge: the ad from a token this edge verified, the product's
brand and shelf price from its index, the units from the trip's own basket. From the cart's
checkout only the product ids, the quantities (capped by the basket) and the pseudonymous loyalty id
are taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cartads.v1.common_pb2 import CartEvent, EventType
from cartads.v1.tracking_pb2 import TrackingTokenPayload
from edge_node.events.sales import AdReach, ProductFacts, Sale, SalesAttributor
from edge_node.index.view import ServingView

_IMPRESSION = EventType.EVENT_TYPE_IMPRESSION
_CLICK = EventType.EVENT_TYPE_CLICK
_ADD = EventType.EVENT_TYPE_BASKET_ADD
_REMOVE = EventType.EVENT_TYPE_BASKET_REMOVE
_CHECKOUT = EventType.EVENT_TYPE_CHECKOUT
SALE_TYPES = frozenset({EventType.EVENT_TYPE_ATTRIBUTED_SALE, EventType.EVENT_TYPE_HALO_SALE})


def ad_reach(view: ServingView, payload: TrackingTokenPayload, token: str, promoted: frozenset[str]) -> AdReach:
    """The ad of a verified token as sales attribution sees it: what it promotes, their brands, and
    its campaign's windows (from the line item in the index; none when it has left the index)."""
    line_item = view.line_items.get(payload.line_item_id)
    brands = frozenset(p.brand for p in (view.products.get(pid) for pid in promoted) if p is not None and p.brand)
    return AdReach(
        ad_id=payload.ad_id,
        tracking_token=token,
        promoted_product_ids=promoted,
        promoted_brands=brands,
        click_through_window_ms=line_item.click_through_window_s * 1000 if line_item else 0,
        view_through_window_ms=line_item.view_through_window_s * 1000 if line_item else 0,
    )


def _facts(view: ServingView, product_ids: Iterable[str]) -> dict[str, ProductFacts]:
    out = {}
    for product_id in product_ids:
        product = view.products.get(product_id)
        if product is not None:
            out[product_id] = ProductFacts(product.brand, product.price_micros)
    return out


def _sale_event(checkout: CartEvent, sale: Sale) -> CartEvent:
    event = CartEvent(
        event_id=sale.event_id,
        type=EventType.EVENT_TYPE_HALO_SALE if sale.halo else EventType.EVENT_TYPE_ATTRIBUTED_SALE,
        cart_id=checkout.cart_id,
        session_id=checkout.session_id,
        tracking_token=sale.tracking_token,
        ad_id=sale.ad_id,
        product_id=sale.product_id,
        quantity=sale.quantity,
        unit_price_micros=sale.unit_price_micros,
        attribution=sale.attribution,  # type: ignore[arg-type]
        attributed_event_id=checkout.event_id,
        cross_trip=sale.cross_trip,
    )
    if checkout.HasField("occur_time"):
        event.occur_time.CopyFrom(checkout.occur_time)
    return event


def observe_sales(
    attributor: SalesAttributor,
    events: Iterable[CartEvent],
    reaches: Mapping[str, AdReach],
    view: ServingView,
    receive_unix_ms: int,
) -> list[CartEvent]:
    """Feed valid events in order (``reaches``: the ad of each impression or click whose token
    verified, by event id); the sale events their checkouts make."""
    out: list[CartEvent] = []
    for event in events:
        kind = event.type
        if kind in (_IMPRESSION, _CLICK):
            reach = reaches.get(event.event_id)
            if reach is not None:
                attributor.touch(event.cart_id, event.session_id, reach, click=kind == _CLICK, at_ms=receive_unix_ms)
        elif kind in (_ADD, _REMOVE):
            delta = event.quantity if kind == _ADD else -event.quantity
            attributor.basket_change(event.cart_id, event.session_id, event.product_id, delta)
        elif kind == _CHECKOUT:
            lines = [(line.product_id, line.quantity) for line in event.purchased_lines]
            facts = _facts(view, {pid for pid, _ in lines})
            sales = attributor.checkout(
                event.cart_id,
                event.session_id,
                lines,
                loyalty_id=event.loyalty_id,
                at_ms=receive_unix_ms,
                products=facts,
            )
            out.extend(_sale_event(event, sale) for sale in sales)
    return out
