"""The pure trip core: when the cart asks for ads and what it reports."""

from __future__ import annotations

import itertools

from cart_client.sensors.trace import Checkout, Scan, SensorEvent, Touch, Weight, Zone
from cart_client.trip.catalog import CartCatalog, CatalogItem
from cart_client.trip.core import (
    DEFAULT_SLOTS,
    TEXT_VIEWABLE_DURATION_MS,
    AdFormat,
    CartTrip,
    EventKind,
    ScreenAd,
    SlotSpec,
    Trigger,
)

NOW_MS = 1_700_000_000_000


def new_trip() -> CartTrip:
    counter = itertools.count(1)
    return CartTrip(store_id="store-1", cart_id="cart-1", session_id="s-1", new_id=lambda: f"id-{next(counter)}")


def ad(slot_id: str, ad_id: str) -> ScreenAd:
    return ScreenAd(ad_id=ad_id, slot_id=slot_id, tracking_token=f"token-{ad_id}", headline="Bananas")


def started_trip() -> CartTrip:
    """A trip that entered zone-1 ten seconds ago and already asked about it (nothing is pending at NOW_MS)."""
    trip = new_trip()
    trip.feed(Zone("zone-1"), NOW_MS - 10_000)
    trip.advance(NOW_MS - 7_000)
    return trip


def test_first_event_asks_for_session_start_ads() -> None:
    """The first sensor event opens the session with a SESSION_START request for the default slots."""
    step = new_trip().feed(Weight(10.0), NOW_MS)
    assert [r.trigger for r in step.ad_requests] == [Trigger.SESSION_START]
    assert step.ad_requests[0].slots == DEFAULT_SLOTS
    assert (SlotSpec("slot-0", AdFormat.SPONSORED_PRODUCT), SlotSpec("slot-1", AdFormat.BANNER)) == DEFAULT_SLOTS


def test_session_start_is_asked_only_once() -> None:
    """Later events that trigger nothing ask for no ads."""
    trip = new_trip()
    trip.feed(Weight(10.0), NOW_MS)
    assert trip.feed(Weight(5.0), NOW_MS).ad_requests == ()


def test_confirmed_scan_adds_to_basket_and_asks_with_the_basket() -> None:
    """A scan the scale confirms reports a basket add and asks SCAN ads with the updated basket and zone."""
    trip = started_trip()
    trip.feed(Scan("p1"), NOW_MS + 3_000)
    assert trip.basket == {}
    step = trip.feed(Weight(250.0), NOW_MS + 4_000)
    (request,) = step.ad_requests
    assert request.trigger is Trigger.SCAN
    assert request.scanned_product_id == "p1"
    assert request.basket == (("p1", 1),)
    assert request.zone_id == "zone-1"
    (event,) = step.events
    assert (event.kind, event.product_id, event.quantity, event.occur_unix_ms) == (
        EventKind.BASKET_ADD,
        "p1",
        1,
        NOW_MS + 4_000,
    )


def test_unconfirmed_scan_reports_nothing_and_asks_nothing() -> None:
    """A scan alone neither adds to the basket nor asks for ads."""
    trip = started_trip()
    step = trip.feed(Scan("p1"), NOW_MS + 3_000)
    assert (step.events, step.ad_requests, trip.basket) == ((), (), {})


def test_weight_drop_reports_a_basket_remove() -> None:
    """Taking a confirmed item out reports a basket remove and asks nothing."""
    trip = started_trip()
    trip.feed(Scan("p1"), NOW_MS + 3_000)
    trip.feed(Weight(250.0), NOW_MS + 4_000)
    step = trip.feed(Weight(-248.0), NOW_MS + 9_000)
    assert [(e.kind, e.product_id) for e in step.events] == [(EventKind.BASKET_REMOVE, "p1")]
    assert trip.basket == {}


def test_scan_by_barcode_resolves_through_the_catalog() -> None:
    """A scan carrying only a barcode is the catalog's product for that code."""
    counter = itertools.count(1)
    catalog = CartCatalog([CatalogItem("24852", "Banana", weight_g=120.0, tolerance_g=20.0, barcode="2000000248523")])
    trip = CartTrip(store_id="s", cart_id="c", session_id="t", new_id=lambda: f"id-{next(counter)}", catalog=catalog)
    trip.feed(Scan("", code="2000000248523"), NOW_MS)
    trip.feed(Weight(118.0), NOW_MS + 3_000)
    assert trip.basket == {"24852": 1}


def test_unknown_barcode_is_counted_not_added() -> None:
    """A barcode the catalog does not know adds nothing and is counted."""
    trip = started_trip()
    trip.feed(Scan("", code="0000000000000"), NOW_MS + 3_000)
    assert trip.counters.unknown_codes == 1
    assert trip.fusion.next_deadline_ms() is None


def test_zone_change_asks_zone_enter_after_the_dwell() -> None:
    """Entering a different zone asks ZONE_ENTER ads carrying the new zone once the cart dwelt there."""
    trip = started_trip()
    assert trip.feed(Zone("zone-2"), NOW_MS + 5_000).ad_requests == ()
    assert trip.next_deadline_ms() == NOW_MS + 8_000
    (request,) = trip.advance(NOW_MS + 8_000).ad_requests
    assert (request.trigger, request.zone_id) == (Trigger.ZONE_ENTER, "zone-2")


def test_same_zone_again_asks_nothing() -> None:
    """A repeated reading of the current zone is not a zone change."""
    trip = started_trip()
    assert trip.feed(Zone("zone-1"), NOW_MS).ad_requests == ()


def test_first_zone_event_asks_session_start_then_zone_enter_after_dwell() -> None:
    """The opening zone reading starts the session; the zone itself is asked about after the dwell."""
    trip = new_trip()
    step = trip.feed(Zone("zone-1"), NOW_MS)
    assert [(r.trigger, r.zone_id) for r in step.ad_requests] == [(Trigger.SESSION_START, "")]
    assert [(r.trigger, r.zone_id) for r in trip.advance(NOW_MS + 3_000).ad_requests] == [
        (Trigger.ZONE_ENTER, "zone-1")
    ]


def test_idle_shopper_gets_one_idle_request() -> None:
    """A minute without any reading asks IDLE ads once, not again until something happens."""
    trip = started_trip()
    trip.advance(NOW_MS + 3_000)
    (request,) = trip.advance(NOW_MS + 60_000).ad_requests
    assert request.trigger is Trigger.IDLE
    assert trip.advance(NOW_MS + 200_000).ad_requests == ()


def test_checkout_reports_and_asks_checkout_ads() -> None:
    """Checkout reports a checkout event and asks CHECKOUT ads."""
    trip = started_trip()
    step = trip.feed(Checkout(), NOW_MS)
    assert [r.trigger for r in step.ad_requests] == [Trigger.CHECKOUT]
    assert [e.kind for e in step.events] == [EventKind.CHECKOUT]


def test_events_after_checkout_are_ignored() -> None:
    """Once checked out, a stray sensor reading neither asks nor reports anything."""
    trip = started_trip()
    trip.feed(Checkout(), NOW_MS)
    step = trip.feed(Weight(100.0), NOW_MS)
    assert (step.ad_requests, step.events) == ((), ())
    assert trip.counters.events_after_checkout == 1
    assert trip.basket == {}


def test_received_ads_are_rendered_with_one_play_and_one_impression_each() -> None:
    """Each ad a text screen draws yields its play, then its impression, both carrying its token."""
    trip = started_trip()
    step = trip.receive_ads([ad("slot-0", "a1"), ad("slot-1", "a2")], NOW_MS)
    assert [a.ad_id for a in step.rendered] == ["a1", "a2"]
    assert [(e.kind, e.ad_id, e.tracking_token) for e in step.events] == [
        (EventKind.PLAY, "a1", "token-a1"),
        (EventKind.IMPRESSION, "a1", "token-a1"),
        (EventKind.PLAY, "a2", "token-a2"),
        (EventKind.IMPRESSION, "a2", "token-a2"),
    ]
    impressions = [e for e in step.events if e.kind == EventKind.IMPRESSION]
    assert all(e.visible_duration_ms == TEXT_VIEWABLE_DURATION_MS for e in impressions)
    assert set(trip.screen) == {"slot-0", "slot-1"}


def test_a_page_drawn_ad_plays_once_and_house_content_never() -> None:
    """A real screen's render report makes one play per decision; repeats and house content make none."""
    trip = started_trip()
    trip.impressions_on_render = False
    step = trip.receive_ads([ad("slot-0", "a1")], NOW_MS)
    assert step.events == ()
    play = trip.played("a1", NOW_MS)
    assert play is not None
    assert (play.kind, play.tracking_token) == (EventKind.PLAY, "token-a1")
    assert trip.played("a1", NOW_MS) is None
    assert trip.played("unknown", NOW_MS) is None
    assert trip.counters.plays == 1


def test_ad_for_unknown_slot_is_not_shown() -> None:
    """An ad for a slot the cart does not have is neither drawn nor counted as an impression."""
    trip = started_trip()
    step = trip.receive_ads([ad("slot-9", "a1")], NOW_MS)
    assert (step.rendered, step.events) == ((), ())
    assert trip.counters.ads_off_screen == 1


def test_new_ad_replaces_only_its_slot() -> None:
    """A response fills the slots it names and leaves the others showing what they showed."""
    trip = started_trip()
    trip.receive_ads([ad("slot-0", "a1"), ad("slot-1", "a2")], NOW_MS)
    trip.receive_ads([ad("slot-0", "a3")], NOW_MS)
    assert {slot: shown.ad_id for slot, shown in trip.screen.items()} == {"slot-0": "a3", "slot-1": "a2"}


def test_touch_on_ad_reports_one_click_with_its_token() -> None:
    """Touching a slot that shows an ad reports a click with that ad's tracking token."""
    trip = started_trip()
    trip.receive_ads([ad("slot-0", "a1")], NOW_MS)
    (click,) = trip.feed(Touch("slot-0"), NOW_MS).events
    assert (click.kind, click.ad_id, click.tracking_token) == (EventKind.CLICK, "a1", "token-a1")


def test_touch_on_empty_slot_reports_nothing() -> None:
    """Touching a slot with no ad reports nothing."""
    trip = started_trip()
    trip.receive_ads([ad("slot-0", "a1")], NOW_MS)
    step = trip.feed(Touch("slot-1"), NOW_MS)
    assert (step.events, step.ad_requests) == ((), ())
    assert trip.counters.touches_without_ad == 1


def test_second_touch_on_same_ad_is_not_a_second_click() -> None:
    """An ad is clicked at most once, however often it is touched."""
    trip = started_trip()
    trip.receive_ads([ad("slot-0", "a1")], NOW_MS)
    trip.feed(Touch("slot-0"), NOW_MS)
    assert trip.feed(Touch("slot-0"), NOW_MS).events == ()
    assert trip.counters.clicks == 1


def test_touch_on_replacement_ad_clicks_again() -> None:
    """A new ad in a slot is a new decision, so touching it is a new click."""
    trip = started_trip()
    trip.receive_ads([ad("slot-0", "a1")], NOW_MS)
    trip.feed(Touch("slot-0"), NOW_MS)
    trip.receive_ads([ad("slot-0", "a2")], NOW_MS)
    (click,) = trip.feed(Touch("slot-0"), NOW_MS).events
    assert click.ad_id == "a2"


def test_every_event_and_request_gets_its_own_id() -> None:
    """Ids of requests and events over a whole trip are all distinct."""
    trip = new_trip()
    ids: list[str] = []
    trace: list[SensorEvent] = [
        Zone("z1"),
        Scan("p1"),
        Weight(100.0),
        Zone("z2"),
        Scan("p2"),
        Weight(200.0),
        Touch("slot-0"),
        Checkout(),
    ]
    for n, sensor_event in enumerate(trace):
        step = trip.feed(sensor_event, NOW_MS + n * 5_000)
        ids += [r.request_id for r in step.ad_requests] + [e.event_id for e in step.events]
        for request in step.ad_requests:
            shown = trip.receive_ads([ad("slot-0", f"ad-{request.request_id}")], NOW_MS)
            ids += [e.event_id for e in shown.events]
    assert len(ids) == len(set(ids)) > 10


def test_viewed_ad_earns_one_impression_only_after_a_second() -> None:
    """On a measuring screen, an ad earns its impression when viewed >= 1 s, once, and never for house content."""
    counter = itertools.count(1)
    trip = CartTrip(
        store_id="s", cart_id="c", session_id="t", new_id=lambda: f"id-{next(counter)}", impressions_on_render=False
    )
    assert trip.receive_ads([ad("slot-0", "a1")], NOW_MS).events == ()
    assert trip.viewed("a1", 999, NOW_MS) is None
    impression = trip.viewed("a1", 1_200, NOW_MS)
    assert impression is not None
    assert (impression.ad_id, impression.visible_duration_ms) == ("a1", 1_200)
    assert trip.viewed("a1", 5_000, NOW_MS) is None
    assert trip.viewed("never-shown", 5_000, NOW_MS) is None


def test_house_content_fills_only_empty_slots_and_bills_nothing() -> None:
    """House ads go where nothing is shown; tapping or viewing them reports nothing."""
    from cart_client.trip.house import house_ads

    trip = started_trip()
    trip.receive_ads([ad("slot-0", "a1")], NOW_MS)
    placed = trip.fill_empty_slots(house_ads(trip.slots))
    assert [p.slot_id for p in placed] == ["slot-1"]
    assert trip.screen["slot-0"].ad_id == "a1"
    assert trip.tap_slot("slot-1", NOW_MS) is None
    assert trip.viewed(placed[0].ad_id, 2_000, NOW_MS) is None
    assert trip.counters.house_taps == 1
