"""Checking cart requests field by field and turning them into domain values; errors name the field."""

from __future__ import annotations

from cartads import bounds
from cartads.ops.logs import clip
from cartads.rpc.errors import InvalidArgumentError, NotFoundError
from cartads.v1.ad_service_pb2 import GetAdsRequest, GetStoreInfoRequest, ReportEventsRequest
from cartads.v1.common_pb2 import CartEvent, CreativeFormat, EventType, Trigger
from edge_node.config import EdgeConfig
from edge_node.serving.selection import AdRequest, SlotRequest

# Events that refer to a served ad, and so must carry its tracking token.
AD_EVENT_TYPES = frozenset(
    {
        EventType.EVENT_TYPE_AD_PLAY,
        EventType.EVENT_TYPE_IMPRESSION,
        EventType.EVENT_TYPE_CLICK,
        EventType.EVENT_TYPE_DISMISS,
    }
)
# Conversions and sales are made by the edge's attribution, never reported by a cart.
_CART_EVENT_TYPES = frozenset(EventType.values()) - {
    EventType.EVENT_TYPE_UNSPECIFIED,
    EventType.EVENT_TYPE_CONVERSION,
    EventType.EVENT_TYPE_ATTRIBUTED_SALE,
    EventType.EVENT_TYPE_HALO_SALE,
}
_MAX_VIOLATIONS = 20
_MAX_QUANTITY = bounds.MAX_QUANTITY
_TRIGGERS = frozenset(Trigger.values())
_FORMATS = frozenset(CreativeFormat.values())


class _Violations:
    def __init__(self, max_id_chars: int) -> None:
        self.items: list[tuple[str, str]] = []
        self._max_id_chars = max_id_chars

    def add(self, field: str, why: str) -> None:
        # Error details travel in trailers, which have a size limit: the first few are enough.
        if len(self.items) < _MAX_VIOLATIONS:
            self.items.append((field, why))

    def check_id(self, field: str, value: str, *, required: bool) -> None:
        if required and not value:
            self.add(field, "is required")
        elif len(value) > self._max_id_chars:
            self.add(field, f"is longer than {self._max_id_chars} characters")

    def extend(self, violations: list[tuple[str, str]]) -> None:
        for field, why in violations:
            self.add(field, why)

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgumentError(self.items)


def _check_store(violations: _Violations, store_id: str, config: EdgeConfig) -> None:
    violations.check_id("store_id", store_id, required=True)
    violations.raise_if_any()
    if store_id != config.store_id:
        raise NotFoundError(
            f"store_id {clip(store_id)!r} is not served by this edge (it serves {config.store_id!r})", "store_id"
        )


def _plain_request(request: GetAdsRequest, config: EdgeConfig) -> AdRequest | None:
    """The selection request when ``request`` certainly passes every check below, else None.

    The common request (no slots, a small basket) is checked here in one pass, reading each field
    once and building no error messages; anything this does not accept goes through the full
    check, which names fields.
    """
    max_chars = config.max_id_chars
    cart_id = request.cart_id
    store_id = request.store_id
    scanned_product_id = request.scanned_product_id
    zone_id = request.zone_id
    trigger = request.trigger
    max_ads = request.max_ads
    if (
        request.slots
        or not cart_id
        or len(cart_id) > max_chars
        or store_id != config.store_id
        or not store_id
        or len(store_id) > max_chars
        or len(request.session_id) > max_chars
        or len(request.request_id) > max_chars
        or len(scanned_product_id) > max_chars
        or len(zone_id) > max_chars
        or trigger not in _TRIGGERS
        or not 0 <= max_ads <= config.max_ads_limit
    ):
        return None
    basket = request.basket
    if len(basket) > config.max_basket_lines:
        return None
    ids = []
    max_quantity = _MAX_QUANTITY
    for line in basket:
        product_id = line.product_id
        if not product_id or len(product_id) > max_chars or not 0 < line.quantity <= max_quantity:
            return None
        ids.append(product_id)
    return AdRequest(trigger, scanned_product_id, zone_id, tuple(ids), (), max_ads)


def parse_get_ads(request: GetAdsRequest, config: EdgeConfig) -> AdRequest:
    """The selection request for a valid GetAds call; raises InvalidArgumentError or NotFoundError."""
    plain = _plain_request(request, config)
    if plain is not None:
        return plain
    violations = _Violations(config.max_id_chars)
    violations.check_id("cart_id", request.cart_id, required=True)
    _check_store(violations, request.store_id, config)
    violations.check_id("session_id", request.session_id, required=False)
    violations.check_id("request_id", request.request_id, required=False)
    violations.check_id("scanned_product_id", request.scanned_product_id, required=False)
    violations.check_id("zone_id", request.zone_id, required=False)
    if request.trigger not in _TRIGGERS:
        violations.add("trigger", f"unknown trigger {request.trigger}")
    basket = request.basket
    basket_ids: tuple[str, ...] = ()
    if len(basket) > config.max_basket_lines:
        violations.add("basket", f"has more than {config.max_basket_lines} lines")
    else:
        basket_ids = tuple(line.product_id for line in basket)
        max_chars = config.max_id_chars
        for i, line in enumerate(basket):
            product_id = line.product_id
            # Field names are formatted only for bad lines: this loop runs on every request.
            if not product_id or len(product_id) > max_chars:
                violations.check_id(f"basket[{i}].product_id", product_id, required=True)
            if not 0 < line.quantity <= _MAX_QUANTITY:
                violations.extend(
                    bounds.check_range(line.quantity, bounds.MIN_QUANTITY, _MAX_QUANTITY, f"basket[{i}].quantity")
                )
    if not 0 <= request.max_ads <= config.max_ads_limit:
        violations.add("max_ads", f"must be between 0 and {config.max_ads_limit}")
    if len(request.slots) > config.max_slots:
        violations.add("slots", f"has more than {config.max_slots} slots")
    else:
        seen: set[str] = set()
        for i, slot in enumerate(request.slots):
            violations.check_id(f"slots[{i}].slot_id", slot.slot_id, required=True)
            if slot.slot_id in seen:
                violations.add(f"slots[{i}].slot_id", f"repeats slot {clip(slot.slot_id)!r}")
            seen.add(slot.slot_id)
            if slot.format not in _FORMATS:
                violations.add(f"slots[{i}].format", f"unknown format {slot.format}")
    violations.raise_if_any()
    return AdRequest(
        trigger=request.trigger,
        scanned_product_id=request.scanned_product_id,
        zone_id=request.zone_id,
        basket_product_ids=basket_ids,
        slots=tuple(SlotRequest(slot.slot_id, slot.format) for slot in request.slots),
        max_ads=request.max_ads,
    )


def check_store_info(request: GetStoreInfoRequest, config: EdgeConfig) -> None:
    """Raises unless ``request`` names this edge's store and, if any, a well-formed cart id."""
    violations = _Violations(config.max_id_chars)
    _check_store(violations, request.store_id, config)
    violations.extend(bounds.check_id(request.cart_id, "cart_id", max_chars=config.max_id_chars))
    violations.raise_if_any()


def parse_report(request: ReportEventsRequest, config: EdgeConfig) -> list[CartEvent]:
    """The events of a valid ReportEvents call, with the request's cart id filled in where missing.

    One bad event rejects the whole call, so a cart never has to guess which events were kept.
    """
    violations = _Violations(config.max_id_chars)
    _check_store(violations, request.store_id, config)
    violations.extend(bounds.check_id(request.cart_id, "cart_id", max_chars=config.max_id_chars))
    if not request.events:
        violations.add("events", "is empty")
    if len(request.events) > config.max_events_per_report:
        violations.add("events", f"has more than {config.max_events_per_report} events")
    if request.HasField("send_time"):
        violations.extend(bounds.check_timestamp(request.send_time.seconds, request.send_time.nanos, "send_time"))
    violations.raise_if_any()
    events: list[CartEvent] = []
    max_id_chars = config.max_id_chars
    for i, event in enumerate(request.events):
        # Numbers, times, lengths, and no edge-made field: checked before anything reads them.
        violations.extend(bounds.event_violations(event, f"events[{i}]", from_cart=True, max_id_chars=max_id_chars))
        if event.type not in _CART_EVENT_TYPES:
            violations.add(f"events[{i}].type", f"unknown or not reportable event type {event.type}")
        if event.type in AD_EVENT_TYPES and not event.tracking_token:
            violations.add(f"events[{i}].tracking_token", "is required for ad events")
        if not event.cart_id and not request.cart_id:
            violations.add(f"events[{i}].cart_id", "is required (on the event or the request)")
        copy = CartEvent()
        copy.CopyFrom(event)
        if not copy.cart_id:
            copy.cart_id = request.cart_id
        events.append(copy)
    violations.raise_if_any()
    return events
