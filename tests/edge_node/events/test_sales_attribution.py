"""The pure sales attribution core: purchases at checkout credited last-touch within windows."""

from __future__ import annotations

from edge_node.events.sales import (
    CLICK_THROUGH,
    VIEW_THROUGH,
    AdReach,
    ProductFacts,
    SalesAttributor,
    SalesPolicy,
    sale_event_id,
)

DAY_MS = 24 * 3600 * 1000
LOYAL = "a" * 64
PRODUCTS = {
    "cola": ProductFacts("fizz", 1_500_000),
    "cola-zero": ProductFacts("fizz", 1_600_000),
    "chips": ProductFacts("crunch", 2_000_000),
}


def _ad(ad_id: str = "ad-1", product: str = "cola", *, ct_days: int = 0, vt_days: int = 0) -> AdReach:
    return AdReach(
        ad_id=ad_id,
        tracking_token=f"tok-{ad_id}",
        promoted_product_ids=frozenset({product}),
        promoted_brands=frozenset({PRODUCTS[product].brand}),
        click_through_window_ms=ct_days * DAY_MS,
        view_through_window_ms=vt_days * DAY_MS,
    )


def _trip(a: SalesAttributor, session: str, adds: dict[str, int], *, cart: str = "cart-1") -> None:
    for product, quantity in adds.items():
        a.basket_change(cart, session, product, quantity)


def test_viewed_then_bought_is_a_view_through_sale_at_shelf_price() -> None:
    """A viewable impression then a purchase of the promoted product is one view-through sale."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad(), click=False, at_ms=1_000)
    _trip(a, "s1", {"cola": 2})
    [sale] = a.checkout("cart-1", "s1", [("cola", 2)], loyalty_id="", at_ms=5_000, products=PRODUCTS)
    assert (sale.product_id, sale.quantity, sale.unit_price_micros) == ("cola", 2, 1_500_000)
    assert (sale.attribution, sale.halo, sale.ad_id, sale.cross_trip) == (VIEW_THROUGH, False, "ad-1", False)
    assert sale.event_id == sale_event_id("cart-1", "s1", "cola")


def test_a_click_beats_a_later_view() -> None:
    """Last touch gives a click precedence over a later viewable impression of another ad."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad("ad-click"), click=True, at_ms=1_000)
    a.touch("cart-1", "s1", _ad("ad-view"), click=False, at_ms=2_000)
    _trip(a, "s1", {"cola": 1})
    [sale] = a.checkout("cart-1", "s1", [("cola", 1)], loyalty_id="", at_ms=3_000, products=PRODUCTS)
    assert (sale.ad_id, sale.attribution) == ("ad-click", CLICK_THROUGH)


def test_the_latest_of_two_views_wins() -> None:
    """Between two viewable impressions the later one is the last touch."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad("ad-early"), click=False, at_ms=1_000)
    a.touch("cart-1", "s1", _ad("ad-late"), click=False, at_ms=2_000)
    _trip(a, "s1", {"cola": 1})
    [sale] = a.checkout("cart-1", "s1", [("cola", 1)], loyalty_id="", at_ms=3_000, products=PRODUCTS)
    assert sale.ad_id == "ad-late"


def test_removal_before_checkout_undoes_the_sale() -> None:
    """A promoted product added then removed before checkout is not a sale, whatever the cart claims."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad(), click=True, at_ms=1_000)
    a.basket_change("cart-1", "s1", "cola", 1)
    a.basket_change("cart-1", "s1", "cola", -1)
    assert a.checkout("cart-1", "s1", [("cola", 1)], loyalty_id="", at_ms=3_000, products=PRODUCTS) == []


def test_claimed_quantity_is_cut_to_the_basket() -> None:
    """A checkout claiming more units than the trip added counts only the added units."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad(), click=False, at_ms=1_000)
    _trip(a, "s1", {"cola": 3})
    [sale] = a.checkout("cart-1", "s1", [("cola", 2**31 - 1)], loyalty_id="", at_ms=3_000, products=PRODUCTS)
    assert sale.quantity == 3


def test_product_never_scanned_is_no_sale() -> None:
    """A checkout line for a product the trip never added credits nothing."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad(), click=True, at_ms=1_000)
    assert a.checkout("cart-1", "s1", [("cola", 1)], loyalty_id="", at_ms=3_000, products=PRODUCTS) == []


def test_a_trip_checks_out_once() -> None:
    """A replayed checkout of the same trip makes no second sale."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad(), click=True, at_ms=1_000)
    _trip(a, "s1", {"cola": 1})
    assert len(a.checkout("cart-1", "s1", [("cola", 1)], loyalty_id="", at_ms=3_000, products=PRODUCTS)) == 1
    assert a.checkout("cart-1", "s1", [("cola", 1)], loyalty_id="", at_ms=4_000, products=PRODUCTS) == []


def test_same_brand_other_product_is_a_halo_sale() -> None:
    """Buying another product of the promoted product's brand is a halo sale of the ad."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad(), click=False, at_ms=1_000)
    _trip(a, "s1", {"cola-zero": 1, "chips": 1})
    [sale] = a.checkout("cart-1", "s1", [("cola-zero", 1), ("chips", 1)], loyalty_id="", at_ms=3_000, products=PRODUCTS)
    assert (sale.product_id, sale.halo, sale.attribution, sale.unit_price_micros) == (
        "cola-zero",
        True,
        VIEW_THROUGH,
        1_600_000,
    )


def test_a_product_promoted_by_an_ad_is_never_halo() -> None:
    """A product another ad promoted is credited directly to that ad, not as halo of a brand sibling."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad("ad-cola"), click=True, at_ms=1_000)
    a.touch("cart-1", "s1", _ad("ad-zero", "cola-zero"), click=False, at_ms=2_000)
    _trip(a, "s1", {"cola-zero": 1})
    [sale] = a.checkout("cart-1", "s1", [("cola-zero", 1)], loyalty_id="", at_ms=3_000, products=PRODUCTS)
    assert (sale.ad_id, sale.halo) == ("ad-zero", False)


def test_loyalty_id_carries_touches_into_a_later_trip_within_the_window() -> None:
    """An ad seen on an earlier trip credits a purchase days later under the same loyalty id."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad(vt_days=7), click=False, at_ms=1_000)
    assert a.checkout("cart-1", "s1", [], loyalty_id=LOYAL, at_ms=2_000, products=PRODUCTS) == []
    _trip(a, "s2", {"cola": 1}, cart="cart-9")
    [sale] = a.checkout("cart-9", "s2", [("cola", 1)], loyalty_id=LOYAL, at_ms=3 * DAY_MS, products=PRODUCTS)
    assert (sale.ad_id, sale.cross_trip, sale.attribution) == ("ad-1", True, VIEW_THROUGH)


def test_loyalty_touch_outside_the_window_credits_nothing() -> None:
    """A touch older than the campaign's window does not credit a later trip."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad(vt_days=1), click=False, at_ms=1_000)
    a.checkout("cart-1", "s1", [], loyalty_id=LOYAL, at_ms=2_000, products=PRODUCTS)
    _trip(a, "s2", {"cola": 1})
    assert a.checkout("cart-1", "s2", [("cola", 1)], loyalty_id=LOYAL, at_ms=3 * DAY_MS, products=PRODUCTS) == []


def test_zero_window_means_the_same_trip_only() -> None:
    """With the default window of 0 a loyalty id links no earlier trip."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad(), click=True, at_ms=1_000)
    a.checkout("cart-1", "s1", [], loyalty_id=LOYAL, at_ms=2_000, products=PRODUCTS)
    _trip(a, "s2", {"cola": 1})
    assert a.checkout("cart-1", "s2", [("cola", 1)], loyalty_id=LOYAL, at_ms=60_000, products=PRODUCTS) == []


def test_without_loyalty_id_trips_are_not_linked() -> None:
    """Without a loyalty id nothing of an earlier trip is credited."""
    a = SalesAttributor(SalesPolicy())
    a.touch("cart-1", "s1", _ad(vt_days=7), click=False, at_ms=1_000)
    a.checkout("cart-1", "s1", [], loyalty_id="", at_ms=2_000, products=PRODUCTS)
    _trip(a, "s2", {"cola": 1})
    assert a.checkout("cart-1", "s2", [("cola", 1)], loyalty_id="", at_ms=60_000, products=PRODUCTS) == []


def test_loyalty_id_on_many_carts_at_once_links_nothing() -> None:
    """A loyalty id checked out on more carts than allowed within the share window is shared: no link."""
    a = SalesAttributor(SalesPolicy(loyalty_max_carts=2, loyalty_share_window_ms=3_600_000))
    a.touch("cart-1", "s1", _ad(vt_days=7), click=False, at_ms=1_000)
    a.checkout("cart-1", "s1", [], loyalty_id=LOYAL, at_ms=2_000, products=PRODUCTS)
    a.checkout("cart-2", "s2", [], loyalty_id=LOYAL, at_ms=3_000, products=PRODUCTS)
    _trip(a, "s3", {"cola": 1}, cart="cart-3")
    assert a.checkout("cart-3", "s3", [("cola", 1)], loyalty_id=LOYAL, at_ms=4_000, products=PRODUCTS) == []


def test_loyalty_id_is_usable_again_after_the_share_window() -> None:
    """Once the other carts' checkouts are older than the share window the id links trips again."""
    a = SalesAttributor(SalesPolicy(loyalty_max_carts=1, loyalty_share_window_ms=60_000))
    a.touch("cart-1", "s1", _ad(vt_days=7), click=False, at_ms=1_000)
    a.checkout("cart-1", "s1", [], loyalty_id=LOYAL, at_ms=2_000, products=PRODUCTS)
    _trip(a, "s2", {"cola": 1}, cart="cart-2")
    [sale] = a.checkout("cart-2", "s2", [("cola", 1)], loyalty_id=LOYAL, at_ms=DAY_MS, products=PRODUCTS)
    assert sale.cross_trip


def test_an_ad_promoting_nothing_credits_nothing() -> None:
    """A run-of-store ad with no promoted product is never credited with a sale."""
    a = SalesAttributor(SalesPolicy())
    reach = AdReach("ad-ros", "tok", frozenset(), frozenset())
    a.touch("cart-1", "s1", reach, click=True, at_ms=1_000)
    _trip(a, "s1", {"cola": 1})
    assert a.checkout("cart-1", "s1", [("cola", 1)], loyalty_id="", at_ms=3_000, products=PRODUCTS) == []


def test_units_are_capped_at_one_events_maximum() -> None:
    """Many adds of one product make at most max_quantity units in one sale."""
    a = SalesAttributor(SalesPolicy(max_quantity=999))
    a.touch("cart-1", "s1", _ad(), click=False, at_ms=1_000)
    for _ in range(3):
        a.basket_change("cart-1", "s1", "cola", 999)
    [sale] = a.checkout(
        "cart-1", "s1", [("cola", 999), ("cola", 999), ("cola", 999)], loyalty_id="", at_ms=3_000, products=PRODUCTS
    )
    assert sale.quantity == 999
