"""Pacing and learned rates over a real cloud and edge: request counts travel once, compiles carry both."""

from __future__ import annotations

import uuid

from cartads.v1 import ad_service_pb2, common_pb2
from cloud_core.compile.compiler import CompileSettings
from cloud_core.delivery.pacing import shipped_rate
from cloud_core.delivery.pacing_stats import PacingStatsQuery
from cloud_core.delivery.predictions import PRIOR_CTR
from cloud_core.sync.service import IndexBuilder
from tests.integration.whole_loop import STORE_ID, Loop

START = common_pb2.TRIGGER_SESSION_START


async def _get_ads(loop: Loop, n: int, trigger: int = START) -> list[tuple[str, ad_service_pb2.Ad]]:
    """(session id, ad) of each ad served to ``n`` requests of new trips."""
    ads: list[tuple[str, ad_service_pb2.Ad]] = []
    for _ in range(n):
        session_id = uuid.uuid4().hex
        response = await loop.ads.GetAds(
            ad_service_pb2.GetAdsRequest(
                store_id=STORE_ID,
                cart_id="cart-1",
                session_id=session_id,
                trigger=trigger,  # type: ignore[arg-type]
                max_ads=1,
            )
        )
        ads.extend((session_id, ad) for ad in response.ads)
    return ads


async def _requests_in_cloud(loop: Loop) -> int:
    counts = await loop.cloud.store.pacing_stats.request_counts(STORE_ID, 0)
    return sum(n for n, _ in counts.values())


async def test_request_counts_reach_the_cloud_once(loop: Loop) -> None:
    """GetAds requests counted at the edge arrive in the cloud's hourly table, each counted once."""
    await _get_ads(loop, 5)
    assert loop.edge.request_counts is not None
    assert await loop.edge.request_counts.flush()
    await loop.edge.wait_for_upload(timeout_s=10.0)
    await _get_ads(loop, 2)
    assert await loop.edge.request_counts.flush()
    await loop.edge.wait_for_upload(timeout_s=10.0)
    assert await _requests_in_cloud(loop) == 7
    # The records are the edge's own, not cart events: none is refused as an unknown event.
    assert await loop.cloud.store.ledger.dead_letters(STORE_ID) == []


async def test_graceful_stop_uploads_the_last_counts(loop: Loop) -> None:
    """Counts not yet flushed when the edge stops are journaled and uploaded by the stop."""
    await _get_ads(loop, 3)
    await loop.edge.stop(grace_s=2.0)
    assert await _requests_in_cloud(loop) == 3


async def test_compile_carries_pacing_and_learned_click_rates(loop: Loop) -> None:
    """After clicked session-start ads are billed, the next compile ships the learned and pacing rates it persisted."""
    ads = await _get_ads(loop, 6, START)
    assert len(ads) == 6  # run-of-store house ads fill every session start
    events = []
    for session_id, ad in ads:
        for kind in (common_pb2.EVENT_TYPE_IMPRESSION, common_pb2.EVENT_TYPE_CLICK):
            events.append(
                common_pb2.CartEvent(
                    event_id=uuid.uuid4().hex,
                    type=kind,
                    cart_id="cart-1",
                    session_id=session_id,
                    tracking_token=ad.tracking_token,
                    ad_id=ad.ad_id,
                    visible_duration_ms=1_000 if kind == common_pb2.EVENT_TYPE_IMPRESSION else 0,
                )
            )
    await loop.ads.ReportEvents(ad_service_pb2.ReportEventsRequest(store_id=STORE_ID, cart_id="cart-1", events=events))
    await loop.edge.wait_for_upload(timeout_s=10.0)
    store = loop.cloud.store
    builder = IndexBuilder(
        catalog=store.catalog,
        experiments=store.experiments,
        delivery=store.pacing_stats,
        carts=store.carts,
        settings=CompileSettings(),
    )
    index = await builder.build(STORE_ID)
    assert index is not None
    clicked = next(li for li in index.line_items if li.line_item_id == ads[0][1].line_item_id)
    assert clicked.predicted_ctr > PRIOR_CTR
    assert [r.trigger for r in clicked.trigger_rates] == [START]
    assert all(0 < li.pass_through_rate <= 1 for li in index.line_items)
    stats = await loop.cloud.store.pacing_stats.load_pacing_stats(
        PacingStatsQuery(STORE_ID, day_start_us=0, profile_since_us=0, traffic_since_us=0, outcomes_since_us=0)
    )
    # No line item here has a daily budget of its own: each paces with its campaign, at the rate persisted.
    assert set(stats.states) == {f"campaign:{li.campaign_id}" for li in index.line_items}
    shipped = {li.line_item_id: li.pass_through_rate for li in index.line_items}
    assert shipped == {
        li.line_item_id: shipped_rate(stats.states[f"campaign:{li.campaign_id}"].rate) for li in index.line_items
    }
