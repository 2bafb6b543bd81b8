"""What the cloud makes of an uploaded sale: its token vouches for store, ad and trip, never billed."""

from __future__ import annotations

from cartads.sales_windows import MAX_WINDOW_S
from cartads.v1 import common_pb2, event_ingest_pb2
from cloud_core.events.billing import assess_event
from tests.cloud_core.helpers import ad_event, legacy_judging

KEY = b"s" * 32
TTL_S = 7200
SALE = common_pb2.EVENT_TYPE_ATTRIBUTED_SALE


def _sale(**changes: object) -> event_ingest_pb2.JournaledEvent:
    journaled = ad_event(KEY, event_id="sale:1", seq=1, event_type=SALE)
    event = journaled.event
    event.product_id, event.quantity, event.unit_price_micros = "p1", 3, 2_000_000
    event.attribution = common_pb2.ATTRIBUTION_KIND_VIEW_THROUGH
    for name, value in changes.items():
        setattr(event, name, value)
    return journaled


def test_sale_of_the_tokens_trip_is_credited_and_not_billed() -> None:
    """A sale in its token's trip credits the campaign with its units and value, charging nothing."""
    outcome = assess_event(_sale(), *legacy_judging(KEY), TTL_S)
    assert (outcome.campaign_id, outcome.sale_units, outcome.sale_micros) == ("c1", 3, 6_000_000)
    assert (outcome.billable, outcome.charge_micros, outcome.reject_reason) == (False, 0, "")


def test_sale_on_another_cart_without_the_loyalty_link_is_not_credited() -> None:
    """A sale naming another cart's token, not marked as linking trips, credits nobody."""
    outcome = assess_event(_sale(cart_id="cart-9"), *legacy_judging(KEY), TTL_S)
    assert (outcome.campaign_id, outcome.sale_units) == ("", 0)


def test_linked_sale_on_another_cart_is_credited() -> None:
    """A sale the edge linked by loyalty id (cross_trip) may carry another cart's and trip's token."""
    outcome = assess_event(_sale(cart_id="cart-9", session_id="s-9", cross_trip=True), *legacy_judging(KEY), TTL_S)
    assert (outcome.campaign_id, outcome.sale_units) == ("c1", 3)


def test_sale_with_another_stores_token_is_not_credited() -> None:
    """A sale uploaded for this store carrying a token issued for another store credits nobody."""
    journaled = ad_event(KEY, event_id="sale:1", seq=1, event_type=SALE, store_id="store-2")
    journaled.event.quantity = 1
    outcome = assess_event(journaled, *legacy_judging(KEY), TTL_S)
    assert (outcome.campaign_id, outcome.sale_units) == ("", 0)


def test_sale_older_than_any_window_is_not_credited() -> None:
    """A sale received longer after its token than the token's life plus the longest window credits nobody."""
    journaled = _sale(cross_trip=True)
    journaled.receive_time.seconds += TTL_S + MAX_WINDOW_S + 60
    outcome = assess_event(journaled, *legacy_judging(KEY), TTL_S)
    assert (outcome.campaign_id, outcome.sale_units) == ("", 0)


def test_days_old_linked_sale_within_the_longest_window_is_credited() -> None:
    """A linked sale days after its token (past the token's life) still credits its campaign."""
    journaled = _sale(cross_trip=True)
    journaled.receive_time.seconds += 3 * 24 * 3600
    assert assess_event(journaled, *legacy_judging(KEY), TTL_S).campaign_id == "c1"
