"""Layered experiments end to end: a holdout arm compiled into a real cloud and edge, events carrying
arms, and RunReport by arm with the layer's lift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cartads import tracking_token
from cartads.v1 import ad_service_pb2, admin_pb2, common_pb2
from edge_node.index.arms import Arm, Layer, assign
from tests.eventually import eventually
from tests.integration.whole_loop import STORE_ID, Loop

LAYER = "ads-lift"
SALT = "integration"
ARMS = (Arm("exposed", 5000), Arm("holdout", 5000, holdout=True))


def _sessions(arm_id: str, count: int) -> list[str]:
    """Session ids the pure assignment puts in ``arm_id`` (the edge must agree)."""
    layer = Layer(LAYER, SALT, ARMS)
    out: list[str] = []
    i = 0
    while len(out) < count:
        session_id = f"trip-{i}"
        if assign(session_id, [layer])[0][1].arm_id == arm_id:
            out.append(session_id)
        i += 1
    return out


async def _create_layer_and_wait(loop: Loop) -> None:
    before = loop.edge.index_version
    await loop.admin.CreateExperimentLayer(
        admin_pb2.CreateExperimentLayerRequest(
            layer_id=LAYER,
            experiment_layer=admin_pb2.ExperimentLayer(
                display_name="ads vs no ads",
                salt=SALT,
                arms=[
                    admin_pb2.ExperimentArm(arm_id=a.arm_id, traffic_bps=a.traffic_bps, holdout=a.holdout) for a in ARMS
                ],
            ),
        )
    )
    # The edge announces no change of index: poll the version it serves.
    await eventually(lambda: loop.edge.index_version != before, what="the experiment's index served")


def _basket_events(cart_id: str, session_id: str, product_id: str) -> list[common_pb2.CartEvent]:
    return [
        common_pb2.CartEvent(
            event_id=f"{session_id}-add",
            type=common_pb2.EVENT_TYPE_BASKET_ADD,
            cart_id=cart_id,
            session_id=session_id,
            product_id=product_id,
            quantity=2,
        ),
        common_pb2.CartEvent(
            event_id=f"{session_id}-checkout",
            type=common_pb2.EVENT_TYPE_CHECKOUT,
            cart_id=cart_id,
            session_id=session_id,
        ),
    ]


async def _trip(loop: Loop, session_id: str, promoted: str) -> ad_service_pb2.GetAdsResponse:
    """Ask for an ad at session start; report its impression (if any), an add of ``promoted`` and checkout."""
    cart_id = f"cart-{session_id}"
    response = await loop.ads.GetAds(
        ad_service_pb2.GetAdsRequest(
            store_id=STORE_ID,
            cart_id=cart_id,
            session_id=session_id,
            trigger=common_pb2.TRIGGER_SESSION_START,
            max_ads=1,
        )
    )
    events = [
        common_pb2.CartEvent(
            event_id=f"{session_id}-imp-{ad.ad_id}",
            type=common_pb2.EVENT_TYPE_IMPRESSION,
            cart_id=cart_id,
            session_id=session_id,
            tracking_token=ad.tracking_token,
            ad_id=ad.ad_id,
            visible_duration_ms=1_000,
        )
        for ad in response.ads
    ]
    product_id = response.ads[0].creative.promoted_product_id if response.ads else promoted
    await loop.ads.ReportEvents(
        ad_service_pb2.ReportEventsRequest(
            store_id=STORE_ID, cart_id=cart_id, events=[*events, *_basket_events(cart_id, session_id, product_id)]
        )
    )
    return response


async def test_holdout_trips_get_no_ads_and_the_report_shows_arms_and_lift(loop: Loop) -> None:
    """A holdout layer keeps its holdout trips ad-free, and RunReport by arm measures exposed trips against them."""
    await _create_layer_and_wait(loop)
    exposed, held = _sessions("exposed", 3), _sessions("holdout", 3)
    served = [await _trip(loop, s, "") for s in exposed]
    assert all(r.ads for r in served), "run-of-store house ads should fill session starts"
    # The sample store's session-start ads promote a product, which each exposed trip adds after the ad.
    promoted = [r.ads[0].creative.promoted_product_id for r in served]
    assert "" not in promoted
    for response in served:
        payload = tracking_token.peek(response.ads[0].tracking_token)
        assert [(a.layer_id, a.arm_id) for a in payload.experiment_arms] == [(LAYER, "exposed")]
    for session_id in held:
        response = await _trip(loop, session_id, promoted[0])
        assert not response.ads
        assert response.no_fill_reason == ad_service_pb2.NO_FILL_REASON_EXPERIMENT_HOLDOUT
    await loop.edge.wait_for_upload(timeout_s=10.0)

    now = datetime.now(UTC)
    request = admin_pb2.RunReportRequest(dimensions=[admin_pb2.REPORT_DIMENSION_EXPERIMENT_ARM])
    request.start_time.FromDatetime(now - timedelta(hours=1))
    request.end_time.FromDatetime(now + timedelta(hours=1))
    report = await loop.admin.RunReport(request)
    rows = {(r.layer_id, r.arm_id): r.metrics for r in report.rows}
    assert set(rows) == {(LAYER, "exposed")}
    assert rows[(LAYER, "exposed")].impressions == 3
    assert report.totals.impressions == 3
    (lift,) = report.lifts
    trips = {a.arm_id: (a.trips, a.holdout) for a in lift.arms}
    assert trips == {"exposed": (3, False), "holdout": (3, True)}
    # Exposed trips added two of the promoted product after its impression: attributed, with their value.
    prices = {p.product_id: p.price_micros for p in loop.catalog.products}
    assert rows[(LAYER, "exposed")].conversions == 3
    assert rows[(LAYER, "exposed")].attributed_sales_micros == sum(2 * prices[p] for p in promoted)
    assert lift.HasField("sales_per_trip_lift")
