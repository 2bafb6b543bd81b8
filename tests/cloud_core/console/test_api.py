"""The console's JSON API on a real cloud (both engines) with a connected edge and billed spend."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from cartads import ivt
from cartads.time_units import now_us, us_to_ts
from cartads.v1 import admin_pb2, common_pb2
from cloud_core.events.outcomes import EventOutcome
from tests.cloud_core.console.world import (
    ADVERTISER_ID,
    BUDGET_MICROS,
    CAMPAIGN_ID,
    IDLE_CAMPAIGN_ID,
    LATE_HOURS,
    LATE_PLAYS,
    LAYER_ID,
    LINE_ITEM_ID,
    LIVE_IMPRESSIONS,
    STORE_ID,
    TRIPS_PER_ARM,
    ConsoleWorld,
)


async def _get(world: ConsoleWorld, path: str, token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(world.url + path, headers=headers) as response:
        return response.status, await response.json()


async def test_edges_show_the_connected_edge_serving_the_current_version(world: ConsoleWorld) -> None:
    """The store's edge is listed as connected, having ACKed the version it serves, seen moments ago."""
    status, body = await _get(world, "api/edges", world.viewer_token)
    assert status == 200
    [store] = body["stores"]
    [edge] = store["edges"]
    assert (store["store_id"], edge["edge_id"], edge["connected"]) == (STORE_ID, "edge-1", True)
    assert edge["applied_version"] == world.edge.index_version
    assert (edge["last_answer"], edge["in_sync"]) == ("ACK", True)
    assert 0 <= edge["seconds_since_seen"] < 60


async def test_campaign_totals_match_the_billed_spend_report(world: ConsoleWorld) -> None:
    """Each campaign's spend and impressions in the console equal AdminService's spend report."""
    report = await world.admin.GetSpendReport(admin_pb2.GetSpendReportRequest())
    billed = {c.campaign_id: (c.spend_micros, c.impressions) for c in report.campaigns}
    status, body = await _get(world, "api/campaigns", world.viewer_token)
    assert status == 200
    shown = {c["campaign_id"]: (c["spend_micros"], c["impressions"]) for c in body["campaigns"]}
    assert shown == billed
    assert shown[CAMPAIGN_ID][1] == LIVE_IMPRESSIONS + sum(n for _, n in LATE_HOURS)
    assert shown[IDLE_CAMPAIGN_ID] == (0, 0)


async def test_campaign_plays_and_viewability_come_from_the_report_rollups(world: ConsoleWorld) -> None:
    """Each campaign's plays and viewability rate in the console equal RunReport's by campaign."""
    request = admin_pb2.RunReportRequest(dimensions=[admin_pb2.REPORT_DIMENSION_CAMPAIGN])
    request.start_time.FromSeconds(int(time.time()) - 2 * 86_400)
    request.end_time.FromSeconds(int(time.time()) + 3_600)
    report = await world.admin.RunReport(request)
    reported = {r.campaign_id: (r.metrics.plays, r.metrics.viewability_rate) for r in report.rows}
    _, body = await _get(world, "api/campaigns", world.viewer_token)
    shown = {c["campaign_id"]: (c["plays"], c["viewability_rate"]) for c in body["campaigns"]}
    assert shown[CAMPAIGN_ID] == reported[CAMPAIGN_ID]
    assert shown[CAMPAIGN_ID][0] == LIVE_IMPRESSIONS + LATE_PLAYS
    assert shown[IDLE_CAMPAIGN_ID] == (0, 0.0)


async def test_spend_series_accumulates_to_the_billed_total_by_hour(world: ConsoleWorld) -> None:
    """The campaign's hourly series starts at its flight, steps up in the hours with spend and ends at the total."""
    _, campaigns = await _get(world, "api/campaigns", world.viewer_token)
    total = next(c["spend_micros"] for c in campaigns["campaigns"] if c["campaign_id"] == CAMPAIGN_ID)
    status, body = await _get(world, f"api/campaigns/{CAMPAIGN_ID}/spend", world.viewer_token)
    assert status == 200
    points = body["points"]
    assert body["budget_micros"] == BUDGET_MICROS
    assert len(points) == 12  # the flight started 11 hours before the current hour
    assert points[-1]["cumulative_spend_micros"] == total
    hours_with_spend = [len(points) - 1 - i for i, p in enumerate(points) if p["spend_micros"] > 0]
    assert sorted(hours_with_spend) == sorted([h for h, _ in LATE_HOURS] + [0])
    cumulative = [p["cumulative_spend_micros"] for p in points]
    assert cumulative == sorted(cumulative)


async def test_api_needs_a_token(world: ConsoleWorld) -> None:
    """Without a bearer token the API answers 401."""
    status, _ = await _get(world, "api/campaigns", None)
    assert status == 401


async def test_advertiser_token_may_not_read_the_console(world: ConsoleWorld) -> None:
    """An advertiser token (scoped to its own campaigns) is refused with 403: the console shows everyone's."""
    status, _ = await _get(world, "api/campaigns", world.advertiser_token)
    assert status == 403


async def test_admin_token_reads_the_console(world: ConsoleWorld) -> None:
    """An admin token reads the console like a viewer token."""
    status, _ = await _get(world, "api/edges", world.admin_token)
    assert status == 200


async def test_revoked_token_is_refused_at_once(world: ConsoleWorld) -> None:
    """A viewer token revoked through AdminService no longer reads the console, even though it was just used."""
    assert (await _get(world, "api/edges", world.viewer_token))[0] == 200
    tokens = await world.admin.ListApiTokens(admin_pb2.ListApiTokensRequest(page_size=100))
    viewer = next(t for t in tokens.api_tokens if t.role == admin_pb2.API_TOKEN_ROLE_VIEWER)
    await world.admin.RevokeApiToken(admin_pb2.RevokeApiTokenRequest(token_id=viewer.token_id))
    status, _ = await _get(world, "api/edges", world.viewer_token)
    assert status == 401


async def test_experiments_match_run_report_by_arm(world: ConsoleWorld) -> None:
    """The experiments section shows each arm's delivery and the layer's lift exactly as RunReport by arm does."""
    status, body = await _get(world, "api/experiments?days=2", world.viewer_token)
    assert status == 200
    assert (body["available"], body["days"]) == (True, 2)
    request = admin_pb2.RunReportRequest(
        dimensions=[admin_pb2.REPORT_DIMENSION_EXPERIMENT_ARM],
        start_time=us_to_ts(body["start_us"]),
        end_time=us_to_ts(body["end_us"]),
    )
    report = await world.admin.RunReport(request)
    [layer] = body["layers"]
    assert (layer["layer_id"], layer["has_holdout"]) == (LAYER_ID, True)
    arms = {a["arm_id"]: a for a in layer["arms"]}
    for row in report.rows:
        shown = arms[row.arm_id]
        assert (shown["impressions"], shown["spend_micros"]) == (row.metrics.impressions, row.metrics.spend_micros)
    [lift] = report.lifts
    assert layer["lift"]["conversion_rate"]["difference"] == pytest.approx(lift.conversion_rate_lift.difference)
    assert layer["lift"]["conversion_rate"]["ci_low"] == pytest.approx(lift.conversion_rate_lift.ci_low)


async def test_exposed_arm_shows_its_trips_and_lift_over_the_holdout(world: ConsoleWorld) -> None:
    """Every exposed trip bought the advertised product and half the holdout did: +50 points of conversion."""
    _, body = await _get(world, "api/experiments", world.viewer_token)
    arms = {a["arm_id"]: a for a in body["layers"][0]["arms"]}
    exposed, holdout = arms["exposed"], arms["holdout"]
    assert (exposed["trips"], exposed["impressions"], holdout["trips"], holdout["impressions"]) == (
        TRIPS_PER_ARM,
        TRIPS_PER_ARM,
        TRIPS_PER_ARM,
        0,
    )
    assert (exposed["trip_conversion_rate"], holdout["trip_conversion_rate"]) == (1.0, 0.5)
    assert exposed["lift"]["conversion_rate"]["difference"] == pytest.approx(0.5)
    assert holdout["lift"] is None


async def test_experiment_days_out_of_range_is_400(world: ConsoleWorld) -> None:
    """A days parameter outside 1..400 answers 400 naming it."""
    status, body = await _get(world, "api/experiments?days=0", world.viewer_token)
    assert status == 400
    assert body["error"].startswith("days:")


async def test_invalid_traffic_rate_sits_beside_spend_as_the_spend_report_counts_it(world: ConsoleWorld) -> None:
    """Invalid clicks recorded for a campaign show as its IVT rate in the console, equal to the spend
    report's, and add nothing to its spend."""
    before = await _get(world, "api/campaigns", world.viewer_token)
    clicks = [
        EventOutcome(
            seq=9_000 + i,
            event_id=f"ivt-click-{i}",
            event_type=common_pb2.EVENT_TYPE_CLICK,
            cart_id="cart-bot",
            session_id="trip-bot",
            event_blob=b"",
            receive_time_us=now_us(),
            ad_id="ad-bot",
            advertiser_id=ADVERTISER_ID,
            campaign_id=CAMPAIGN_ID,
            line_item_id=LINE_ITEM_ID,
            invalid_rule=ivt.CLICK_WITHOUT_IMPRESSION,
        )
        for i in range(3)
    ]
    await world.cloud.store.ledger.record_events(STORE_ID, "edge-1", clicks)
    report = await world.admin.GetSpendReport(admin_pb2.GetSpendReportRequest())
    billed = {c.campaign_id: (c.invalid_events, c.invalid_traffic_rate) for c in report.campaigns}
    status, body = await _get(world, "api/campaigns", world.viewer_token)
    assert status == 200
    shown = {c["campaign_id"]: (c["invalid_ad_events"], c["invalid_traffic_rate"]) for c in body["campaigns"]}
    assert shown == billed
    assert shown[CAMPAIGN_ID][0] == 3
    assert 0 < shown[CAMPAIGN_ID][1] < 1
    spend = {c["campaign_id"]: c["spend_micros"] for c in body["campaigns"]}
    assert spend == {c["campaign_id"]: c["spend_micros"] for c in before[1]["campaigns"]}


async def test_delivery_status_of_a_campaign_matches_get_delivery_status(world: ConsoleWorld) -> None:
    """The console's delivery panel reads what GetDeliveryStatus answers: state, stores and reasons."""
    status, body = await _get(world, f"api/campaigns/{CAMPAIGN_ID}/delivery", world.viewer_token)
    assert status == 200
    rpc = await world.admin.GetDeliveryStatus(admin_pb2.GetDeliveryStatusRequest(campaign_id=CAMPAIGN_ID))
    assert (body["available"], body["campaign_id"], body["state"]) == (True, CAMPAIGN_ID, rpc.state)
    assert [s["store_id"] for s in body["stores"]] == [s.store_id for s in rpc.stores] == [STORE_ID]
    assert [r["text"] for r in body["reasons"]] == [r.text for r in rpc.reasons]


async def test_delivery_status_of_an_unknown_campaign_is_404(world: ConsoleWorld) -> None:
    """A campaign id that names nothing answers 404, and no token answers 401."""
    status, _ = await _get(world, "api/campaigns/cmp-nope/delivery", world.viewer_token)
    assert status == 404
    status, _ = await _get(world, f"api/campaigns/{CAMPAIGN_ID}/delivery", None)
    assert status == 401
