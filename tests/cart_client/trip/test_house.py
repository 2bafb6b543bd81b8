"""House content from the catalog, and how the cart names its zones (pure)."""

from __future__ import annotations

import itertools

from cart_client.trip.catalog import CartCatalog, CatalogItem, zone_label
from cart_client.trip.core import DEFAULT_SLOTS, AdFormat, CartTrip, SlotSpec
from cart_client.trip.house import house_ads, suggest

CATALOG = CartCatalog(
    [
        CatalogItem("1", "Banana", 290_000, aisle_id="24", aisle_name="fresh fruits", zone_id="zone-24"),
        CatalogItem("2", "Strawberries", 4_990_000, aisle_id="24", aisle_name="fresh fruits", zone_id="zone-24"),
        CatalogItem("3", "Whole Milk", 4_490_000, aisle_id="84", aisle_name="milk", zone_id="zone-84"),
    ]
)
PRODUCT_SLOT = SlotSpec("slot-0", AdFormat.SPONSORED_PRODUCT)


def test_the_suggestion_is_from_the_shoppers_aisle_and_not_in_the_basket() -> None:
    """A suggestion is a product of the zone the cart is in that the basket does not hold."""
    item = suggest(CATALOG, "zone-24", {"1"})
    assert item is not None
    assert item.product_id == "2"
    assert suggest(CATALOG, "zone-24", {"1", "2"}) is None
    assert suggest(CATALOG, "zone-99", set()) is None


def test_the_product_slot_suggests_with_price_and_place_and_bills_nobody() -> None:
    """The house product card names the product, its price and aisle, and is house content."""
    (card,) = house_ads([PRODUCT_SLOT], catalog=CATALOG, zone_id="zone-84")
    assert (card.headline, card.price_micros, card.location_hint) == ("Whole Milk", 4_490_000, "aisle 84 — milk")
    assert card.house
    assert not card.tracking_token


def test_without_a_zone_the_product_slot_carries_a_store_message() -> None:
    """Before the cart knows its aisle, the product slot shows the store's own message."""
    (card,) = house_ads([PRODUCT_SLOT], catalog=CATALOG)
    assert card.ad_id == "house-scan-and-go-slot-0"


def test_newer_house_content_replaces_older_but_never_an_ad() -> None:
    """A new suggestion takes the place of the last one; a slot holding an ad keeps it."""
    counter = itertools.count()
    trip = CartTrip(
        store_id="s", cart_id="c", session_id="t", new_id=lambda: f"id-{next(counter)}", slots=DEFAULT_SLOTS
    )
    first = trip.fill_empty_slots(house_ads(trip.slots, catalog=CATALOG, zone_id="zone-24"))
    assert len(first) == len(DEFAULT_SLOTS)
    again = trip.fill_empty_slots(house_ads(trip.slots, catalog=CATALOG, zone_id="zone-24"))
    assert again == ()
    moved = trip.fill_empty_slots(house_ads(trip.slots, catalog=CATALOG, zone_id="zone-84"))
    assert [a.headline for a in moved] == ["Whole Milk"]


def test_zones_are_named_by_their_aisle() -> None:
    """A zone reads as its aisle's name and number; without a catalog name, as its number."""
    assert CATALOG.zone_name("zone-84") == "Milk (aisle 84)"
    assert CATALOG.zone_name("zone-7") == "aisle 7"
    assert zone_label("31", "refrigerated") == "Refrigerated (aisle 31)"
