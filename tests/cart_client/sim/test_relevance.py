"""Simulated shoppers: how relevant an ad is to the basket, and whether a touch's chance to tap is taken."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cart_client.sensors.trace import Checkout, Scan, SensorEvent, Touch, Weight
from cart_client.sim.relevance import SimulatedShopper, decides_to_tap, relevance, tap_probability
from cart_client.sim.replay import replay_trip
from cart_client.trip.catalog import CartCatalog, CatalogItem
from cart_client.trip.core import CartTrip, ScreenAd
from cart_client.trip.house import house_ads
from cartads.v1 import ad_service_pb2, common_pb2
from tests.cart_client.fakes import FakeAdService, fill_every_slot

CATALOG = CartCatalog(
    [
        CatalogItem("banana", aisle_id="24", department="produce"),
        CatalogItem("apple", aisle_id="24", department="produce"),
        CatalogItem("kale", aisle_id="83", department="produce"),
        CatalogItem("soda", aisle_id="77", department="beverages"),
    ]
)


def promoting(product_id: str) -> ScreenAd:
    return ScreenAd(ad_id="a", slot_id="slot-0", tracking_token="t", promoted_product_id=product_id)


def test_relevance_grows_with_how_close_the_ad_is_to_the_basket() -> None:
    """Same aisle beats same department beats elsewhere; an ad promoting nothing known is in between."""
    basket = ["banana"]
    assert relevance(promoting("apple"), basket, CATALOG) == 1.0
    assert relevance(promoting("kale"), basket, CATALOG) == 0.5
    assert relevance(promoting("soda"), basket, CATALOG) == 0.1
    assert relevance(promoting(""), basket, CATALOG) == 0.2


def test_tap_probability_grows_with_relevance_and_is_deterministic() -> None:
    """A more relevant ad is likelier to be tapped, and the same seed decides the same way."""
    assert tap_probability(0.3, 0.1) < tap_probability(0.3, 0.5) < tap_probability(0.3, 1.0) <= 1.0
    assert tap_probability(0.0, 1.0) == 0.0
    decisions = [decides_to_tap(0.3, 0.5, f"trip:{n}") for n in range(400)]
    assert decisions == [decides_to_tap(0.3, 0.5, f"trip:{n}") for n in range(400)]
    assert 0.2 < sum(decisions) / len(decisions) < 0.4


def promoting_apples(request: ad_service_pb2.GetAdsRequest) -> list[ad_service_pb2.Ad]:
    ads = fill_every_slot(request)
    for ad in ads:
        ad.creative.promoted_product_id = "apple"
    return ads


@pytest.mark.parametrize(("propensity", "clicks"), [(1.0, 1), (0.0, 0)])
async def test_simulated_touch_is_decided_against_the_ad_on_screen(propensity: float, clicks: int) -> None:
    """A touch with a propensity taps a relevant ad when certain and never when the shopper has no interest."""
    catalog = CartCatalog(
        [CatalogItem("banana", aisle_id="24", weight_g=120.0), CatalogItem("apple", aisle_id="24", weight_g=180.0)]
    )
    fake = FakeAdService(ads_for=promoting_apples)
    trace: list[SensorEvent] = [
        Scan("banana", 0),
        Weight(121.0, 500),
        Touch("slot-0", 3_000, propensity=propensity),
        Checkout(9_000),
    ]
    stats = await replay_trip(
        fake, store_id="s", cart_id="c", session_id="t", events=trace, catalog=catalog, dwell_s=0.0
    )
    assert (stats.tap_chances, stats.tap_chances_taken, stats.clicks_reported) == (1, clicks, clicks)


def test_simulated_shopper_has_no_chance_on_an_empty_slot_or_house_content() -> None:
    """A chance to tap needs a billable ad in the slot: an empty one or house content is no chance at all."""
    trip = CartTrip(store_id="s", cart_id="c", session_id="t", new_id=lambda: "id")
    shopper = SimulatedShopper()
    assert not shopper.is_tap(Touch("slot-0", 0, propensity=1.0), trip)
    trip.fill_empty_slots(house_ads(trip.slots))
    assert not shopper.is_tap(Touch("slot-0", 0, propensity=1.0), trip)
    assert shopper.tap_chances == 0


def test_simulated_shopper_passes_a_plain_touch_as_a_tap() -> None:
    """A touch without a propensity is a tap the trace recorded, not a chance for the shopper to decide."""
    trip = CartTrip(store_id="s", cart_id="c", session_id="t", new_id=lambda: "id")
    shopper = SimulatedShopper()
    assert shopper.is_tap(Touch("slot-0", 0), trip)
    assert shopper.tap_chances == 0


async def test_replayed_impressions_wait_a_human_dwell_and_report_what_it_measured() -> None:
    """A replay reports an impression only after a viewable second, with a visible time no longer than it took."""
    fake = FakeAdService()
    reported_at: dict[str, float] = {}
    answered_at: list[float] = []
    loop = asyncio.get_running_loop()
    get_ads, report = fake.GetAds, fake.ReportEvents

    async def timed_get_ads(request: ad_service_pb2.GetAdsRequest, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        response = await get_ads(request, timeout)
        answered_at.append(loop.time())
        return response

    async def timed_report(request: ad_service_pb2.ReportEventsRequest, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        for event in request.events:
            reported_at.setdefault(event.event_id, loop.time())
        return await report(request, timeout)

    fake.GetAds, fake.ReportEvents = timed_get_ads, timed_report  # type: ignore[method-assign]
    trace: list[SensorEvent] = [Scan("banana", 0), Weight(121.0, 500), Checkout(9_000)]
    await replay_trip(fake, store_id="s", cart_id="c", session_id="t", events=trace, catalog=CATALOG, dwell_s=1.0)
    impressions = fake.journaled(common_pb2.EVENT_TYPE_IMPRESSION)
    assert impressions
    first_answer = answered_at[0]
    for impression in impressions:
        elapsed_ms = (reported_at[impression.event_id] - first_answer) * 1000
        assert reported_at[impression.event_id] - first_answer >= 1.0
        assert impression.visible_duration_ms <= elapsed_ms + 1
