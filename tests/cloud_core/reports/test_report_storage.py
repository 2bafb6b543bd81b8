"""Report rollups and experiment layers in SQL, on SQLite and PostgreSQL (the ``db_url`` fixture)."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa

from cartads.v1 import admin_pb2, common_pb2
from cloud_core.admin.pagination import PageRequest
from cloud_core.admin.reports import run_report
from cloud_core.events.outcomes import EventOutcome
from cloud_core.reports.metrics import Delivery, TripSums
from cloud_core.reports.rollups import ReportFilter, ReportQuery
from cloud_core.storage import schema as t
from cloud_core.storage.cloud_store import SqlCloudStore

HOUR_US = 3600 * 1_000_000
T0 = 1_800_000_000 * 1_000_000 // HOUR_US * HOUR_US
IMPRESSION, CLICK, CONVERSION = (
    common_pb2.EVENT_TYPE_IMPRESSION,
    common_pb2.EVENT_TYPE_CLICK,
    common_pb2.EVENT_TYPE_CONVERSION,
)
BASKET_ADD, CHECKOUT = common_pb2.EVENT_TYPE_BASKET_ADD, common_pb2.EVENT_TYPE_CHECKOUT
EXPOSED, HOLDOUT = (("L", "exposed"),), (("L", "holdout"),)


def _ad_event(event_id: str, kind: int, *, ad: str, hour: int = 0, **fields: Any) -> EventOutcome:
    fields.setdefault("experiment_arms", EXPOSED)
    return EventOutcome(
        seq=0,
        event_id=event_id,
        event_type=kind,
        cart_id="cart",
        session_id=fields.pop("session_id", "trip-1"),
        event_blob=b"",
        receive_time_us=T0 + hour * HOUR_US,
        ad_id=ad,
        advertiser_id="adv",
        campaign_id=fields.pop("campaign_id", "c1"),
        line_item_id="li1",
        creative_id="cr1",
        pricing_model=common_pb2.PRICING_MODEL_CPM,
        billable=True,
        **fields,
    )


def _basket(event_id: str, session_id: str, arms: tuple[tuple[str, str], ...], value: int = 0) -> EventOutcome:
    return EventOutcome(
        seq=0,
        event_id=event_id,
        event_type=BASKET_ADD,
        cart_id="cart",
        session_id=session_id,
        event_blob=b"",
        receive_time_us=T0,
        experiment_arms=arms,
        advertised_sales_micros=value,
    )


def _where(**fields: Any) -> ReportFilter:
    return ReportFilter(start_us=T0, end_us=T0 + 24 * HOUR_US, **fields)


async def _seed(store: SqlCloudStore) -> None:
    await store.ledger.record_events(
        "s1",
        "e1",
        [
            _ad_event("i1", IMPRESSION, ad="a1", charge_micros=2_000),
            _ad_event("k1", CLICK, ad="a1"),
            _ad_event("v1", CONVERSION, ad="a1", product_id="p1", sales_micros=7_000_000),
            _ad_event("i2", IMPRESSION, ad="a2", hour=1, charge_micros=3_000, campaign_id="c2"),
        ],
    )


async def test_delivery_grouped_by_campaign(store: SqlCloudStore) -> None:
    """Billed events roll up per campaign with spend and the conversion's sales."""
    await _seed(store)
    rows = dict(await store.reports.report_delivery([ReportQuery(("campaign_id",), _where())]))
    assert rows[("c1",)] == Delivery(0, 1, 1, 1, 2_000, 7_000_000)
    assert rows[("c2",)] == Delivery(0, 1, 0, 0, 3_000, 0)


async def test_delivery_by_arm_and_hour(store: SqlCloudStore) -> None:
    """Rows by arm carry each event under its layer and arm; hours split as received."""
    await _seed(store)
    query = ReportQuery(("hour_start_us", "layer_id", "arm_id"), _where(), by_arm=True)
    rows = {k: d.impressions for k, d in await store.reports.report_delivery([query])}
    assert rows == {(T0, "L", "exposed"): 1, (T0 + HOUR_US, "L", "exposed"): 1}


async def test_filters_and_time_range(store: SqlCloudStore) -> None:
    """Advertiser, campaign and time filters narrow the rows read."""
    await _seed(store)
    only_c2 = await store.reports.report_delivery([ReportQuery((), _where(campaign_ids=("c2",)))])
    assert only_c2[0][1].spend_micros == 3_000
    first_hour = ReportFilter(start_us=T0, end_us=T0 + HOUR_US)
    assert (await store.reports.report_delivery([ReportQuery((), first_hour)]))[0][1].impressions == 1
    other = await store.reports.report_delivery([ReportQuery((), _where(advertiser_id="someone-else"))])
    assert other[0][1] == Delivery()


async def test_a_resent_upload_is_rolled_up_once(store: SqlCloudStore) -> None:
    """Uploading the same events again changes no rollup (dedupe happens first)."""
    await _seed(store)
    await _seed(store)
    total = (await store.reports.report_delivery([ReportQuery((), _where())]))[0][1]
    assert (total.impressions, total.spend_micros, total.sales_micros) == (2, 5_000, 7_000_000)


async def test_trip_sums_per_arm(store: SqlCloudStore) -> None:
    """Basket events make trips per arm: counted once each, with converting trips and squared sales."""
    await store.ledger.record_events(
        "s1",
        "e1",
        [
            _basket("b1", "t1", EXPOSED, 2_000_000),
            _basket("b2", "t1", EXPOSED, 1_000_000),
            _basket("b3", "t2", EXPOSED),
            _basket("b4", "t3", HOLDOUT, 1_000_000),
            _basket("b5", "t4", HOLDOUT),
        ],
    )
    # A later upload adds to trip t2: it becomes a converting trip, but not a new one.
    await store.ledger.record_events("s1", "e1", [_basket("b6", "t2", EXPOSED, 500_000)])
    sums = {arm: s for _, arm, s in await store.reports.report_trip_sums(_where())}
    assert sums["exposed"] == TripSums(2, 2, 3_500_000, 300 * 300 + 50 * 50)
    assert sums["holdout"] == TripSums(2, 1, 1_000_000, 100 * 100)


async def test_checkout_alone_counts_a_trip(store: SqlCloudStore) -> None:
    """A trip that only checks out still counts (with no sales), so holdout trips count like others."""
    checkout = EventOutcome(
        seq=0,
        event_id="c",
        event_type=CHECKOUT,
        cart_id="cart",
        session_id="t9",
        event_blob=b"",
        receive_time_us=T0,
        experiment_arms=HOLDOUT,
    )
    await store.ledger.record_events("s1", "e1", [checkout])
    assert await store.reports.report_trip_sums(_where()) == [("L", "holdout", TripSums(1, 0, 0, 0))]


async def test_experiment_layer_round_trip(store: SqlCloudStore) -> None:
    """A layer is stored with its arms and overrides, listed, filtered by state, updated and deleted."""
    layer = admin_pb2.ExperimentLayer(
        layer_id="L", display_name="Reserve test", salt="x", state=admin_pb2.SERVING_STATE_ACTIVE
    )
    arm = layer.arms.add(arm_id="high", traffic_bps=5000)
    arm.overrides.reserve_cpm_micros = 0
    layer.arms.add(arm_id="hold", traffic_bps=1000, holdout=True)
    await store.experiments.create_experiment_layer(layer)
    got = await store.experiments.get_experiment_layer("L")
    assert got is not None
    assert got.arms[0].overrides.HasField("reserve_cpm_micros")
    assert not got.arms[0].overrides.HasField("click_rate_weight")
    assert got.arms[1].holdout
    assert [x.layer_id for x in await store.experiments.list_experiment_layers(PageRequest("", 10))] == ["L"]
    got.state = admin_pb2.SERVING_STATE_PAUSED
    await store.experiments.update_experiment_layer(got)
    assert await store.experiments.active_experiment_layers() == []
    await store.experiments.delete_experiment_layer("L")
    assert await store.experiments.get_experiment_layer("L") is None


async def test_report_over_days_equals_the_same_report_by_hour(store: SqlCloudStore) -> None:
    """A range of whole days plus partial edges (daily and hourly rollups) sums like the hourly rows."""
    day0 = T0 - T0 % (24 * HOUR_US)
    hours = [5, 13 + 24, 23 + 48, 1 + 72]
    outcomes = [
        _ad_event(f"i{h}", IMPRESSION, ad=f"a{h}", charge_micros=1_000 * (h + 1), campaign_id=f"c{h % 2}")
        for h in hours
    ]
    outcomes = [
        dataclasses.replace(o, receive_time_us=day0 + h * HOUR_US) for o, h in zip(outcomes, hours, strict=True)
    ]
    await store.ledger.record_events("s1", "e1", outcomes)

    def request(*dims: int) -> admin_pb2.RunReportRequest:
        r = admin_pb2.RunReportRequest(dimensions=list(dims))  # type: ignore[arg-type]
        r.start_time.FromMicroseconds(day0 + 3 * HOUR_US)
        r.end_time.FromMicroseconds(day0 + 74 * HOUR_US)
        return r

    by_campaign = await run_report(store.reports, store.experiments, request(admin_pb2.REPORT_DIMENSION_CAMPAIGN))
    by_hour = await run_report(
        store.reports, store.experiments, request(admin_pb2.REPORT_DIMENSION_CAMPAIGN, admin_pb2.REPORT_DIMENSION_HOUR)
    )
    summed: dict[str, int] = {}
    for row in by_hour.rows:
        summed[row.campaign_id] = summed.get(row.campaign_id, 0) + row.metrics.spend_micros
    assert {r.campaign_id: r.metrics.spend_micros for r in by_campaign.rows} == summed
    assert by_campaign.totals.impressions == 4


async def test_requests_appear_by_store_but_not_by_campaign(store: SqlCloudStore) -> None:
    """Request counts (every outcome) show in reports by store; by campaign they stay 0."""
    rows = [
        {"store_id": sid, "hour_start_us": T0, "trigger": 1, "no_fill_reason": reason, "requests": n, "ads": 0}
        for sid, reason, n in (("s1", 0, 7), ("s1", 160, 3), ("s2", 0, 5))
    ]
    await store.db.write(lambda conn: conn.execute(sa.insert(t.request_counts_hourly), rows))
    await _seed(store)

    def request(*dims: int) -> admin_pb2.RunReportRequest:
        r = admin_pb2.RunReportRequest(dimensions=list(dims))  # type: ignore[arg-type]
        r.start_time.FromMicroseconds(T0)
        r.end_time.FromMicroseconds(T0 + 2 * HOUR_US)
        return r

    by_store = await run_report(store.reports, store.experiments, request(admin_pb2.REPORT_DIMENSION_STORE))
    assert {r.store_id: (r.metrics.requests, r.metrics.impressions) for r in by_store.rows} == {
        "s1": (10, 2),
        "s2": (5, 0),
    }
    by_campaign = await run_report(store.reports, store.experiments, request(admin_pb2.REPORT_DIMENSION_CAMPAIGN))
    assert {r.metrics.requests for r in by_campaign.rows} == {0}


def _play(event_id: str, *, ad: str, creative: str = "cr1", **fields: Any) -> EventOutcome:
    # As billing assesses a play: its token verified (campaign, line item, creative), nothing billable.
    return dataclasses.replace(_ad_event(event_id, common_pb2.EVENT_TYPE_AD_PLAY, ad=ad, **fields), billable=False)


async def test_plays_report_with_viewability_by_creative_and_store(store: SqlCloudStore) -> None:
    """Valid plays reach the report (never the spend); the viewability rate is impressions / plays."""
    await _seed(store)
    await store.ledger.record_events(
        "s1", "e1", [_play("p1", ad="a1"), _play("p2", ad="a9"), _play("p3", ad="a8"), _play("p4", ad="a7")]
    )
    request = admin_pb2.RunReportRequest(
        dimensions=[admin_pb2.REPORT_DIMENSION_CREATIVE, admin_pb2.REPORT_DIMENSION_STORE]
    )
    request.start_time.FromMicroseconds(T0)
    request.end_time.FromMicroseconds(T0 + 24 * HOUR_US)
    response = await run_report(store.reports, store.experiments, request)
    (row,) = response.rows
    assert (row.creative_id, row.store_id, row.metrics.plays, row.metrics.impressions) == ("cr1", "s1", 4, 2)
    assert row.metrics.viewability_rate == 0.5
    assert response.totals.spend_micros == 5_000


async def test_invalid_or_unverified_plays_are_not_counted(store: SqlCloudStore) -> None:
    """A play kept as invalid traffic, or whose token did not verify (no campaign), counts nowhere."""
    await store.ledger.record_events(
        "s1",
        "e1",
        [
            _play("p1", ad="a1", invalid_rule=common_pb2.INVALID_TRAFFIC_RULE_TOKEN),
            _play("p2", ad="a2", campaign_id=""),
        ],
    )
    total = (await store.reports.report_delivery([ReportQuery((), _where())]))[0][1]
    assert total.plays == 0
