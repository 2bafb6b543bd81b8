"""In-trip attribution: an add-to-cart of a promoted product after its ad becomes a conversion. Pure.

Within one cart session (a trip), an impression (view-through) or a click (click-through) of an ad
is remembered with the products it promotes. A BASKET_ADD of one of those products inside the
window after it becomes exactly one CONVERSION event carrying that decision's tracking token; one
per decision and product, and a click wins over a view. The conversion's event id is derived from
the decision and the product, so a re-sent basket add, or a restart, can never make a second one:
the journal and the cloud both dedupe on it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cartads.v1.common_pb2 import AttributionKind, CartEvent, EventType

VIEW = AttributionKind.ATTRIBUTION_KIND_VIEW_THROUGH
CLICK = AttributionKind.ATTRIBUTION_KIND_CLICK_THROUGH


@dataclass(frozen=True)
class AdContext:
    """What the edge knows about an ad event's decision, from its verified token and the index."""

    ad_id: str
    tracking_token: str
    promoted_product_ids: frozenset[str]


@dataclass
class _Exposure:
    ad: AdContext
    view_ms: int | None = None
    click_ms: int | None = None


@dataclass
class _Trip:
    exposures: dict[str, _Exposure] = field(default_factory=dict)
    converted: set[tuple[str, str]] = field(default_factory=set)


def conversion_event_id(ad_id: str, product_id: str) -> str:
    """Deterministic, so the same decision and product can only ever be journaled once."""
    return f"cv:{ad_id}:{product_id}"


def event_time_ms(event: CartEvent, receive_unix_ms: int) -> int:
    """The cart's time of the event when it gave one, else when the edge received it."""
    return event.occur_time.ToMilliseconds() if event.HasField("occur_time") else receive_unix_ms


class Attributor:
    """Remembers ad exposures per trip and turns matching basket adds into conversions."""

    def __init__(self, window_ms: int, max_trips: int) -> None:
        self._window_ms = window_ms
        self._max_trips = max_trips
        self._trips: OrderedDict[tuple[str, str], _Trip] = OrderedDict()

    def __len__(self) -> int:
        return len(self._trips)

    def _trip(self, cart_id: str, session_id: str) -> _Trip:
        key = (cart_id, session_id)
        trip = self._trips.get(key)
        if trip is None:
            trip = self._trips[key] = _Trip()
            while len(self._trips) > self._max_trips:
                self._trips.popitem(last=False)
        self._trips.move_to_end(key)
        return trip

    def observe(
        self, events: Iterable[CartEvent], ads: Mapping[str, AdContext], receive_unix_ms: int
    ) -> list[CartEvent]:
        """Process events in order; returns the conversions they cause.

        ``ads`` maps the event id of each impression or click whose token verified to its decision.
        """
        conversions: list[CartEvent] = []
        for event in events:
            at_ms = event_time_ms(event, receive_unix_ms)
            if event.type in (EventType.EVENT_TYPE_IMPRESSION, EventType.EVENT_TYPE_CLICK):
                ad = ads.get(event.event_id)
                if ad is None or not ad.promoted_product_ids:
                    continue
                exposure = self._trip(event.cart_id, event.session_id).exposures.setdefault(ad.ad_id, _Exposure(ad))
                if event.type == EventType.EVENT_TYPE_CLICK:
                    exposure.click_ms = max(exposure.click_ms or at_ms, at_ms)
                else:
                    exposure.view_ms = max(exposure.view_ms or at_ms, at_ms)
            elif event.type == EventType.EVENT_TYPE_BASKET_ADD and event.product_id:
                conversion = self._convert(event, at_ms)
                if conversion is not None:
                    conversions.append(conversion)
        return conversions

    def _convert(self, add: CartEvent, at_ms: int) -> CartEvent | None:
        trip = self._trips.get((add.cart_id, add.session_id))
        if trip is None:
            return None
        best: tuple[int, int, str] | None = None  # (kind rank, touch time, ad id): highest wins
        for ad_id, exposure in trip.exposures.items():
            if add.product_id not in exposure.ad.promoted_product_ids or (ad_id, add.product_id) in trip.converted:
                continue
            for kind, touch_ms in ((CLICK, exposure.click_ms), (VIEW, exposure.view_ms)):
                if touch_ms is not None and 0 <= at_ms - touch_ms <= self._window_ms:
                    candidate = (int(kind), touch_ms, ad_id)
                    if best is None or candidate > best:
                        best = candidate
                    break  # a click in the window already beats this ad's view
        if best is None:
            return None
        rank, _, ad_id = best
        trip.converted.add((ad_id, add.product_id))
        conversion = CartEvent(
            event_id=conversion_event_id(ad_id, add.product_id),
            type=EventType.EVENT_TYPE_CONVERSION,
            cart_id=add.cart_id,
            session_id=add.session_id,
            tracking_token=trip.exposures[ad_id].ad.tracking_token,
            ad_id=ad_id,
            product_id=add.product_id,
            quantity=add.quantity,
            attribution=CLICK if rank == CLICK else VIEW,
            attributed_event_id=add.event_id,
        )
        if add.HasField("occur_time"):
            conversion.occur_time.CopyFrom(add.occur_time)
        return conversion
