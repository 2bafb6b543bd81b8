"""run_trip against an in-memory AdService."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

import pytest

from cart_client.app import session
from cart_client.app.runner import TripStats, run_trip
from cart_client.sensors.trace import Checkout, Scan, SensorEvent, Touch, Weight, Zone
from cartads.v1 import common_pb2
from tests.cart_client.fakes import FakeAdService, fill_every_slot, make_ad

CLOCK_S = 1_700_000_000.25

# Dwells of 3 s make each zone's ZONE_ENTER fire before the next scan; each scan is confirmed by the scale.
TRACE: list[SensorEvent] = [
    Zone("zone-24", 0),
    Scan("24852", 4_000),
    Weight(120.0, 5_000),
    Touch("slot-0", 8_000),
    Touch("slot-0", 9_000),
    Zone("zone-84", 20_000),
    Scan("27845", 30_000),
    Weight(1030.0, 31_000),
    Touch("slot-1", 35_000),
    Checkout(60_000),
]


def ids() -> Iterator[str]:
    return (f"id-{n}" for n in itertools.count(1))


async def run(
    fake: FakeAdService,
    events: Iterable[SensorEvent] | AsyncIterable[SensorEvent] = TRACE,
    *,
    deadline_s: float = 0.5,
    report_deadline_s: float = 0.5,
) -> tuple[TripStats, list[str]]:
    lines: list[str] = []
    counter = ids()
    stats = await run_trip(
        fake,
        store_id="store-1",
        cart_id="cart-7",
        session_id="trip-1",
        events=events,
        render=lines.append,
        new_id=lambda: next(counter),
        deadline_s=deadline_s,
        report_deadline_s=report_deadline_s,
        clock=lambda: CLOCK_S,
    )
    return stats, lines


async def test_counts_match_what_the_edge_received() -> None:
    """Requests, ads, plays, impressions, clicks and events in the stats equal what the fake edge got."""
    fake = FakeAdService()
    stats, lines = await run(fake)
    impressions = fake.journaled(common_pb2.EVENT_TYPE_IMPRESSION)
    clicks = fake.journaled(common_pb2.EVENT_TYPE_CLICK)
    assert stats.ad_requests == len(fake.get_ads_requests) == 6  # start, 2 zone dwells, 2 confirmed scans, checkout
    assert stats.ads_served == stats.ads_rendered == len(lines) == 12
    assert stats.plays_reported == len(fake.journaled(common_pb2.EVENT_TYPE_AD_PLAY)) == 12
    assert stats.impressions_reported == len(impressions) == 12
    assert stats.clicks_reported == len(clicks) == 2  # the repeated touch on slot-0 is no second click
    assert stats.events_reported == len(fake.journal) == 12 + 12 + 2 + 2 + 1
    assert (stats.ad_request_errors, stats.report_errors, stats.no_fill_count, stats.events_unreported) == (0, 0, 0, 0)
    assert stats.sensor_events == len(TRACE)


async def test_requests_carry_the_trip_and_the_basket() -> None:
    """GetAds carries store, cart, session, trigger, zone, basket and both slots."""
    fake = FakeAdService()
    await run(fake)
    scan = fake.get_ads_requests[2]
    assert scan.request_id == fake.get_ads_requests[2].request_id
    assert (scan.store_id, scan.cart_id, scan.session_id) == ("store-1", "cart-7", "trip-1")
    assert scan.trigger == common_pb2.TRIGGER_SCAN
    assert scan.scanned_product_id == "24852"
    assert scan.zone_id == "zone-24"
    assert [(line.product_id, line.quantity) for line in scan.basket] == [("24852", 1)]
    assert [(s.slot_id, s.format) for s in scan.slots] == [
        ("slot-0", common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT),
        ("slot-1", common_pb2.CREATIVE_FORMAT_BANNER),
    ]


async def test_request_triggers_follow_the_trip() -> None:
    """Triggers come in trip order: session start, zone, scan, zone, scan, checkout."""
    fake = FakeAdService()
    await run(fake)
    assert [r.trigger for r in fake.get_ads_requests] == [
        common_pb2.TRIGGER_SESSION_START,
        common_pb2.TRIGGER_ZONE_ENTER,
        common_pb2.TRIGGER_SCAN,
        common_pb2.TRIGGER_ZONE_ENTER,
        common_pb2.TRIGGER_SCAN,
        common_pb2.TRIGGER_CHECKOUT,
    ]


async def test_every_call_has_the_deadline() -> None:
    """GetAds calls carry deadline_s and ReportEvents calls report_deadline_s."""
    fake = FakeAdService()
    await run(fake, deadline_s=0.25, report_deadline_s=0.75)
    assert set(fake.timeouts) == {0.25, 0.75}


async def test_default_ads_deadline_is_50_ms() -> None:
    """Without a deadline_s the screen waits at most 50 ms for the edge."""
    fake = FakeAdService()
    await run_trip(fake, store_id="s", cart_id="c", session_id="t", events=[Checkout()], render=lambda _l: None)
    assert fake.timeouts[0] == 0.05


async def test_one_report_call_per_sensor_event() -> None:
    """A step's basket change, click, plays and impressions go out together in one ReportEvents call."""
    fake = FakeAdService()
    await run(fake)
    # Every event of TRACE reports something except the second touch and the second zone (still dwelling).
    assert len(fake.report_requests) == len(TRACE) - 2
    confirmed_scan_batch = fake.report_requests[2]
    assert [e.type for e in confirmed_scan_batch.events] == [
        common_pb2.EVENT_TYPE_BASKET_ADD,
        common_pb2.EVENT_TYPE_AD_PLAY,
        common_pb2.EVENT_TYPE_IMPRESSION,
        common_pb2.EVENT_TYPE_AD_PLAY,
        common_pb2.EVENT_TYPE_IMPRESSION,
    ]


async def test_events_carry_ids_tokens_and_the_cart_clock() -> None:
    """Reported events carry the cart and session, the ad's token, and the time from the injected clock."""
    fake = FakeAdService()
    await run(fake)
    (click, _) = fake.journaled(common_pb2.EVENT_TYPE_CLICK)
    assert (click.cart_id, click.session_id) == ("cart-7", "trip-1")
    assert click.tracking_token == f"token-{click.ad_id}"
    assert click.occur_time.ToMilliseconds() == int(CLOCK_S * 1000)
    (request,) = [r for r in fake.report_requests if click in r.events]
    assert (request.store_id, request.cart_id) == ("store-1", "cart-7")


async def test_no_fill_is_counted() -> None:
    """Responses without ads count as no fill; the slots show house content, and a touch then clicks nothing."""
    fake = FakeAdService(ads_for=lambda _request: [])
    stats, lines = await run(fake)
    assert stats.no_fill_count == stats.ad_requests == 6
    assert (stats.ads_served, stats.impressions_reported, stats.clicks_reported) == (0, 0, 0)
    assert stats.house_fills == len(lines) == 2
    assert all(" from the store: " in line for line in lines)
    assert stats.events_reported == 3  # two basket adds and the checkout


async def test_no_fills_are_counted_by_the_edges_reason() -> None:
    """Each answer without an ad counts under its NoFillReason's name; requests = filled + no fill + failed."""
    answered = itertools.count()
    fake = FakeAdService(ads_for=lambda r: fill_every_slot(r) if next(answered) < 2 else [])
    stats, _ = await run(fake)
    assert (stats.ad_requests_filled, stats.no_fill_count, stats.ad_request_errors) == (2, 4, 0)
    assert stats.no_fill_reasons == {"NO_CANDIDATES": 4}
    assert stats.ad_requests == stats.ad_requests_filled + stats.no_fill_count + stats.ad_request_errors


def test_totals_add_up_no_fill_reasons() -> None:
    """TripStats.total adds each reason's no-fills over the trips."""
    one = TripStats(no_fill_count=2, no_fill_reasons={"BUDGET_EXHAUSTED": 2})
    two = TripStats(no_fill_count=3, no_fill_reasons={"BUDGET_EXHAUSTED": 1, "FREQUENCY_CAPPED": 2})
    total = TripStats.total([one, two])
    assert total.no_fill_reasons == {"BUDGET_EXHAUSTED": 3, "FREQUENCY_CAPPED": 2}
    assert "5 no fill (BUDGET_EXHAUSTED 3, FREQUENCY_CAPPED 2)" in total.requests_text()


async def test_ads_for_other_slots_are_not_impressions() -> None:
    """An ad for a slot the cart did not ask for is served but neither drawn nor reported."""
    fake = FakeAdService(ads_for=lambda r: [make_ad("slot-9", f"ad-{r.request_id}")])
    stats, lines = await run(fake)
    assert stats.ads_served == 6
    assert (stats.ads_rendered, stats.impressions_reported) == (0, 0)
    assert all(" from the store: " in line for line in lines)  # its slots show house content


async def test_rendered_lines_show_the_creative() -> None:
    """Each drawn ad becomes one text line with its slot, headline, body, action and location."""
    fake = FakeAdService()
    _, lines = await run(fake, events=[Checkout()])
    assert lines[0].startswith("[slot-0] Fresh Bananas — Sweet and ripe (Add to cart)")
    assert lines[0].endswith("aisle 24 — fresh fruits")


async def test_edge_down_for_ads_does_not_end_the_trip() -> None:
    """Failed GetAds calls are counted, house content fills the screen, and basket and checkout events still go out."""
    fake = FakeAdService(get_ads_down=True)
    stats, lines = await run(fake)
    assert stats.ad_request_errors == stats.ad_requests == 6
    assert stats.ads_served == 0
    assert stats.house_fills == 2
    assert [line.split("]")[0] for line in lines] == ["[slot-0", "[slot-1"]
    assert stats.events_reported == len(fake.journal) == 3
    assert stats.clicks_reported == 0  # taps on house content bill nobody


async def test_queued_events_are_resent_with_the_same_ids() -> None:
    """Events whose report failed go out again with the next report, same event ids, billed once."""
    fake = FakeAdService()

    def flaky() -> Iterator[SensorEvent]:
        fake.report_down = True
        yield from TRACE[:4]
        fake.report_down = False
        yield from TRACE[4:]

    stats, _ = await run(fake, events=flaky())
    failed_ids = {e.event_id for attempt in fake.report_attempts[:4] for e in attempt.events}
    # Zone, scan and touch failed, and the weight step retried the backlog and failed too.
    assert stats.report_errors == 4
    assert failed_ids
    assert failed_ids <= set(fake.journal)
    assert stats.events_reported == len(fake.journal)
    assert stats.events_unreported == 0


async def test_lost_answer_is_not_counted_twice() -> None:
    """A batch the edge journaled but whose answer was lost is re-sent and counted once."""
    fake = FakeAdService(lose_report_answers=1)
    stats, _ = await run(fake)
    assert stats.report_errors == 1
    assert stats.events_reported == len(fake.journal)
    assert stats.impressions_reported == len(fake.journaled(common_pb2.EVENT_TYPE_IMPRESSION))


async def test_events_left_when_edge_never_answers() -> None:
    """If the edge never acknowledges, the stats say how many events stayed unreported."""
    fake = FakeAdService(report_down=True)
    stats, _ = await run(fake)
    assert stats.events_reported == stats.impressions_reported == stats.clicks_reported == 0
    assert stats.events_unreported == 12 + 12 + 2 + 2 + 1
    assert stats.report_errors == len(fake.report_attempts)


async def test_refused_batch_is_dropped_not_retried() -> None:
    """A batch the edge refuses as invalid is counted as rejected and does not block later events."""
    fake = FakeAdService(ads_for=lambda _request: [], reject_event_type=common_pb2.EVENT_TYPE_BASKET_ADD)
    trace: list[SensorEvent] = [
        Scan("p1", 0),
        Weight(300.0, 1_000),
        Scan("p2", 9_000),
        Weight(500.0, 10_000),
        Checkout(20_000),
    ]
    stats, _ = await run(fake, events=trace)
    assert (stats.events_rejected, stats.report_errors) == (2, 2)
    assert stats.events_reported == len(fake.journal) == 1
    assert stats.events_unreported == 0
    assert len(fake.report_attempts) == 3


async def test_a_long_backlog_goes_out_in_bounded_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """A queue longer than the batch cap is sent in several calls, oldest first."""
    monkeypatch.setattr(session, "MAX_EVENTS_PER_REPORT", 4)
    fake = FakeAdService(ads_for=lambda _request: [])

    def scans() -> Iterator[SensorEvent]:
        fake.report_down = True
        for n in range(9):
            yield Scan(f"p{n}", n * 10_000)
            yield Weight(200.0 + n, n * 10_000 + 500)
        fake.report_down = False
        yield Checkout(100_000)

    stats, _ = await run(fake, events=scans())
    assert [len(r.events) for r in fake.report_requests] == [4, 4, 2]
    assert [e.product_id for r in fake.report_requests for e in r.events][:9] == [f"p{n}" for n in range(9)]
    assert stats.events_reported == 10


async def test_async_event_source_is_accepted() -> None:
    """Events may come from an async iterator, as from a live sensor feed."""

    async def live() -> AsyncIterator[SensorEvent]:
        for event in TRACE:
            yield event

    fake = FakeAdService()
    stats, _ = await run(fake, events=live())
    assert stats.sensor_events == len(TRACE)


def test_stats_total_adds_field_by_field() -> None:
    """TripStats.total sums every count of several trips."""
    one = TripStats(ad_requests=2, clicks_reported=1)
    two = TripStats(ad_requests=3, events_unreported=4)
    assert TripStats.total([one, two]) == TripStats(ad_requests=5, clicks_reported=1, events_unreported=4)


async def test_replay_fires_dwell_and_idle_at_their_trace_time() -> None:
    """Timers fire between readings at the trace's own times: the zone after its dwell, idle after a quiet minute."""
    fake = FakeAdService(ads_for=lambda _request: [])
    await run(fake, events=[Zone("zone-24", 0), Checkout(200_000)])
    assert [r.trigger for r in fake.get_ads_requests] == [
        common_pb2.TRIGGER_SESSION_START,
        common_pb2.TRIGGER_ZONE_ENTER,
        common_pb2.TRIGGER_IDLE,
        common_pb2.TRIGGER_CHECKOUT,
    ]


async def test_a_real_cart_takes_no_simulated_chance_to_tap() -> None:
    """Without a simulated shopper, a touch that is only a chance to tap clicks nothing, however certain."""
    fake = FakeAdService()
    trace: list[SensorEvent] = [Scan("24852", 0), Touch("slot-0", 3_000, propensity=1.0), Checkout(9_000)]
    stats = await run_trip(fake, store_id="s", cart_id="c", session_id="t", events=trace, render=lambda _l: None)
    assert stats.ads_served == sum(len(r.slots) for r in fake.get_ads_requests) > 0  # the fake fills every slot
    assert (stats.tap_chances, stats.clicks_reported) == (0, 0)
    assert fake.journaled(common_pb2.EVENT_TYPE_CLICK) == []
