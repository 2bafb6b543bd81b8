"""What a cart reports at checkout: the basket it pays for, and its shopper only as a pseudonym."""

from __future__ import annotations

import hashlib
import hmac
import itertools

from cart_client.app.wire import cart_event
from cart_client.sensors.trace import Checkout, Scan, Weight, Zone, event_to_json, parse_event
from cart_client.trip.core import CartTrip, EventKind
from cart_client.trip.loyalty import pseudonymous_id
from cartads.sales_windows import loyalty_id_problem
from cartads.v1 import common_pb2

NOW_MS = 1_700_000_000_000
KEY = b"k" * 32
CARD = "6012345678901234"


def _trip(loyalty_key: bytes = b"") -> CartTrip:
    counter = itertools.count(1)
    trip = CartTrip(
        store_id="store-1",
        cart_id="cart-1",
        session_id="s-1",
        new_id=lambda: f"id-{next(counter)}",
        loyalty_key=loyalty_key,
    )
    trip.feed(Zone("zone-1"), NOW_MS - 10_000)
    trip.advance(NOW_MS - 7_000)
    return trip


def _buy(trip: CartTrip, product_id: str, t_ms: int) -> None:
    trip.feed(Scan(product_id), t_ms)
    trip.feed(Weight(250.0), t_ms + 1_000)


def test_checkout_carries_the_confirmed_basket() -> None:
    """The checkout event lists each confirmed product with its quantity."""
    trip = _trip()
    _buy(trip, "p2", NOW_MS)
    _buy(trip, "p1", NOW_MS + 5_000)
    _buy(trip, "p1", NOW_MS + 10_000)
    (event,) = trip.feed(Checkout(), NOW_MS + 20_000).events
    assert event.kind is EventKind.CHECKOUT
    assert event.purchased == tuple(sorted(trip.basket.items()))
    assert dict(event.purchased) == trip.basket != {}


def test_loyalty_number_leaves_the_cart_only_as_its_hmac() -> None:
    """With a loyalty key the checkout carries HMAC-SHA256(key, number) in hex, never the number."""
    (event,) = _trip(KEY).feed(Checkout(loyalty_number=CARD), NOW_MS).events
    assert event.loyalty_id == hmac.new(KEY, CARD.encode(), hashlib.sha256).hexdigest()
    assert CARD not in event.loyalty_id
    assert loyalty_id_problem(event.loyalty_id) == ""


def test_without_a_loyalty_key_no_id_is_sent() -> None:
    """A cart without the retailer's key (or with a short one) sends no loyalty id at all."""
    assert _trip().feed(Checkout(loyalty_number=CARD), NOW_MS).events[0].loyalty_id == ""
    assert pseudonymous_id(CARD, b"short") == ""


def test_checkout_wire_event_has_lines_and_pseudonym() -> None:
    """The CartEvent of a checkout carries purchased_lines and loyalty_id."""
    trip = _trip(KEY)
    _buy(trip, "p1", NOW_MS)
    (event,) = trip.feed(Checkout(loyalty_number=CARD), NOW_MS + 5_000).events
    wire = cart_event(event, cart_id="cart-1", session_id="s-1")
    assert wire.type == common_pb2.EVENT_TYPE_CHECKOUT
    assert [(line.product_id, line.quantity) for line in wire.purchased_lines] == list(event.purchased)
    assert wire.loyalty_id == event.loyalty_id != ""


def test_trace_keeps_the_loyalty_number_on_the_cart_side() -> None:
    """A recorded checkout with a loyalty number reads back the same."""
    assert parse_event(event_to_json(Checkout(t_ms=5, loyalty_number=CARD))) == Checkout(5, CARD)
