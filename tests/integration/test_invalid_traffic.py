"""Invalid traffic through a real edge and cloud: each abuse journaled, uploaded and stored with its
rule, billed nothing, kept out of learned rates and attributed sales and counted in the report, while
the honest cart in the same run is billed exactly what it reported; an edge that calls invalid
traffic valid is overruled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from cartads import ivt
from cartads.rpc.bearer import aio_channel
from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2, common_pb2, event_ingest_pb2
from cartads.v1.ad_service_pb2 import Ad, GetAdsRequest, ReportEventsRequest
from cartads.v1.ad_service_pb2_grpc import AdServiceStub
from cartads.v1.admin_pb2_grpc import AdminServiceStub
from cartads.v1.common_pb2 import CartEvent
from cartads.v1.event_ingest_pb2_grpc import EventIngestServiceStub
from cloud_core.access.policy import Role
from cloud_core.admin_cli import main as admin_cli
from cloud_core.app.server import CloudServer, start_cloud
from cloud_core.config import CloudConfig
from cloud_core.storage import schema
from edge_node.app.server import EdgeServer, start_edge
from tests.cart_credentials import CloudEnroller, ad_channel
from tests.cloud_core.helpers import STORE_ID, creative, line_item, seed
from tests.edge_node.helpers import edge_config

if TYPE_CHECKING:
    from cartads.v1.ad_service_pb2_grpc import AdServiceAsyncStub
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub
    from cartads.v1.event_ingest_pb2_grpc import EventIngestServiceAsyncStub

IMPRESSION = common_pb2.EVENT_TYPE_IMPRESSION
CLICK = common_pb2.EVENT_TYPE_CLICK
CONVERSION = common_pb2.EVENT_TYPE_CONVERSION
BASKET_ADD = common_pb2.EVENT_TYPE_BASKET_ADD
BANANA, SPINACH = "24852", "21903"
CPM_BID = 5_000_000
# An honest cart reports an impression after a viewable second; the run waits this once for all carts.
VIEWABLE_WAIT_S = 1.2


@dataclass
class World:
    admin_token: str
    cloud: CloudServer
    edge: EdgeServer
    admin: AdminServiceAsyncStub
    ads: AdServiceAsyncStub
    ingest: EventIngestServiceAsyncStub


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """A cloud with the default invalid traffic policy, store s1 with a CPM line item promoting bananas
    (shown on a banana scan) and a CPA one promoting spinach (on a spinach scan), a test cart enrolled,
    and the store's edge holding the index."""
    cloud = await start_cloud(CloudConfig(db=str(tmp_path / "cloud.sqlite3"), listen_address="127.0.0.1:0"))
    admin_token = await cloud.mint_token(Role.ADMIN)
    edge_token = await cloud.mint_token(Role.EDGE, store_id=STORE_ID)
    admin_channel = aio_channel(f"127.0.0.1:{cloud.port}", admin_token)
    edge_channel = aio_channel(f"127.0.0.1:{cloud.port}", edge_token)
    admin = AdminServiceStub(admin_channel)
    await seed(admin, budget_micros=1_000_000_000)
    await admin.CreateCreative(admin_pb2.CreateCreativeRequest(creative=creative("cr-spinach", product_id=SPINACH)))
    await admin.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id="cr-spinach"))
    for item in (
        line_item("li-cpm", bid_micros=CPM_BID, targeting=admin_pb2.Targeting(product_ids=[BANANA])),
        line_item(
            "li-cpa",
            pricing_model=common_pb2.PRICING_MODEL_CPA,
            bid_micros=900_000_000,
            targeting=admin_pb2.Targeting(product_ids=[SPINACH]),
            creative_ids=("cr-spinach",),
        ),
    ):
        await admin.CreateLineItem(admin_pb2.CreateLineItemRequest(line_item=item))
    test_cart = await admin.CreateCart(
        admin_pb2.CreateCartRequest(
            cart=admin_pb2.Cart(
                store_id=STORE_ID, cart_id="cart-test", traffic_class=common_pb2.CART_TRAFFIC_CLASS_TEST
            )
        )
    )
    edge = await start_edge(edge_config(tmp_path, cloud.port, store_id=STORE_ID, cloud_token=edge_token))
    await edge.wait_for_index(timeout_s=10.0)
    # Each cart a test names is enrolled as it first calls; the test cart already is.
    enroller = CloudEnroller(admin, STORE_ID, edge.knows_credential)
    enroller.credentials["cart-test"] = test_cart.credential
    cart_channel = ad_channel(f"127.0.0.1:{edge.port}", enroller)
    try:
        yield World(admin_token, cloud, edge, admin, AdServiceStub(cart_channel), EventIngestServiceStub(edge_channel))
    finally:
        await cart_channel.close(grace=None)
        await admin_channel.close(grace=None)
        await edge_channel.close(grace=None)
        await edge.stop(grace_s=0.5)
        await cloud.stop(grace_s=0.5)


async def ad_for(world: World, cart_id: str, session_id: str, product_id: str) -> Ad:
    response = await world.ads.GetAds(
        GetAdsRequest(
            store_id=STORE_ID,
            cart_id=cart_id,
            session_id=session_id,
            request_id=f"r-{session_id}-{product_id}",
            trigger=common_pb2.TRIGGER_SCAN,
            scanned_product_id=product_id,
            max_ads=1,
        )
    )
    (ad,) = response.ads
    return ad


def event(event_id: str, kind: int, ad: Ad | None, cart_id: str, session_id: str, **fields: object) -> CartEvent:
    out = CartEvent(event_id=event_id, type=kind, cart_id=cart_id, session_id=session_id, **fields)  # type: ignore[arg-type]
    if ad is not None:
        out.tracking_token, out.ad_id = ad.tracking_token, ad.ad_id
    return out


async def report(world: World, cart_id: str, *events: CartEvent) -> None:
    request = ReportEventsRequest(store_id=STORE_ID, cart_id=cart_id, events=list(events))
    request.send_time.GetCurrentTime()
    answer = await world.ads.ReportEvents(request)
    # Every event is acknowledged, whatever the verdict: the cart learns nothing of the rules it broke.
    assert answer.accepted_count + answer.duplicate_count == len(events)


async def stored(world: World) -> dict[str, tuple[int, str, int]]:
    """Event id -> (invalid rule, outcome, charge) as the cloud stored them."""
    e = schema.events.c
    query = sa.select(e.event_id, e.invalid_rule, e.outcome, e.charge_micros)
    rows = await world.cloud.store.db.read(lambda conn: list(conn.execute(query)))
    return {r[0]: (int(r[1]), r[2], int(r[3])) for r in rows}


async def abuse_run(world: World) -> None:
    """Six abuses and one honest trip in one run, uploaded to the cloud."""
    # Decisions first; then one viewable second passes for every cart at once.
    honest = await ad_for(world, "cart-honest", "s-honest", BANANA)
    fast = await ad_for(world, "cart-fast", "s-fast", BANANA)
    lonely = await ad_for(world, "cart-lonely", "s-lonely", BANANA)
    clicker = await ad_for(world, "cart-clicker", "s-clicker", BANANA)
    tester = await ad_for(world, "cart-test", "s-test", BANANA)
    glance = await ad_for(world, "cart-glance", "s-glance", SPINACH)
    # A click the very instant its ad was decided: no person has seen it yet.
    await report(world, "cart-fast", event("fast-click", CLICK, fast, "cart-fast", "s-fast"))
    await asyncio.sleep(VIEWABLE_WAIT_S)
    await report(
        world,
        "cart-honest",
        event("honest-imp", IMPRESSION, honest, "cart-honest", "s-honest", visible_duration_ms=1_100),
        event("honest-click", CLICK, honest, "cart-honest", "s-honest"),
    )
    await report(world, "cart-lonely", event("lonely-click", CLICK, lonely, "cart-lonely", "s-lonely"))
    await report(
        world,
        "cart-clicker",
        event("clicker-imp", IMPRESSION, clicker, "cart-clicker", "s-clicker", visible_duration_ms=1_100),
        *(event(f"clicker-{i}", CLICK, clicker, "cart-clicker", "s-clicker") for i in range(103)),
    )
    await report(
        world, "cart-test", event("test-imp", IMPRESSION, tester, "cart-test", "s-test", visible_duration_ms=1_100)
    )
    # A CPA ad glanced at for 300 ms, then its product added: no valid exposure, so no conversion.
    await report(
        world,
        "cart-glance",
        event("glance-imp", IMPRESSION, glance, "cart-glance", "s-glance", visible_duration_ms=300),
        event(
            "glance-add",
            common_pb2.EVENT_TYPE_BASKET_ADD,
            None,
            "cart-glance",
            "s-glance",
            product_id=SPINACH,
            quantity=1,
        ),
    )
    await world.edge.wait_for_upload(timeout_s=10.0)


async def test_every_abuse_is_kept_with_its_rule_and_billed_nothing_while_the_honest_cart_is_billed(
    world: World,
) -> None:
    """Each abuse is stored with its rule and charged 0, the honest impressions billed at their price,
    and the spend report counts only the honest carts' events."""
    await abuse_run(world)
    rows = await stored(world)

    honest_charge = rows["honest-imp"][2]
    assert rows["honest-imp"][:2] == (0, "billed")
    assert honest_charge > 0
    assert rows["honest-click"][:2] == (0, "billed")
    assert rows["fast-click"] == (ivt.TOO_FAST, "invalid", 0)
    assert rows["lonely-click"] == (ivt.CLICK_WITHOUT_IMPRESSION, "invalid", 0)
    assert rows["clicker-imp"][:2] == (0, "billed")
    clicks = [rows[f"clicker-{i}"] for i in range(103)]
    assert [c[0] for c in clicks] == [0] * 3 + [ivt.CLICK_CAP] * 100
    assert sum(c[2] for c in clicks) == 0
    assert rows["test-imp"] == (ivt.NON_PRODUCTION_CART, "invalid", 0)
    assert rows["glance-imp"] == (ivt.VISIBLE_DURATION, "invalid", 0)
    assert not [event_id for event_id in rows if event_id.startswith("cv:")]  # no conversion was made

    spend = await world.admin.GetSpendReport(admin_pb2.GetSpendReportRequest(store_id=STORE_ID))
    (c1,) = spend.campaigns
    # Billed exactly what the honest carts reported: two valid impressions, one click each (a
    # decision's click bills once), and no conversion.
    assert rows["clicker-imp"][2] == honest_charge  # the same line item at the same price
    assert (c1.impressions, c1.clicks, c1.conversions, c1.spend_micros) == (2, 2, 0, 2 * honest_charge)


async def test_reports_count_the_abuse_by_campaign_and_rule(world: World, tmp_path: Path) -> None:
    """RunReport and cartads-admin show the campaign's invalid events and rate beside its delivery, and
    one row per rule; learned rates and attributed sales hold only the honest events."""
    await abuse_run(world)
    now = datetime.now(UTC)
    request = admin_pb2.RunReportRequest(
        dimensions=[admin_pb2.REPORT_DIMENSION_CAMPAIGN],
        start_time=dt_to_ts(now - timedelta(hours=1)),
        end_time=dt_to_ts(now + timedelta(hours=1)),
    )
    (row,) = (await world.admin.RunReport(request)).rows
    m = row.metrics
    assert (m.impressions, m.clicks, m.conversions, m.attributed_sales_micros) == (2, 2, 0, 0)
    assert (m.invalid_impressions, m.invalid_clicks, m.invalid_conversions, m.invalid_events) == (2, 102, 0, 104)
    assert m.invalid_traffic_rate == pytest.approx(104 / 108)
    request.dimensions[:] = [admin_pb2.REPORT_DIMENSION_INVALID_TRAFFIC_RULE]
    by_rule = {r.invalid_traffic_rule: r.metrics.invalid_events for r in (await world.admin.RunReport(request)).rows}
    assert by_rule == {
        ivt.TOO_FAST: 1,
        ivt.CLICK_WITHOUT_IMPRESSION: 1,
        ivt.CLICK_CAP: 100,
        ivt.NON_PRODUCTION_CART: 1,
        ivt.VISIBLE_DURATION: 1,
    }
    # The learned click rates are compiled from these rollups: only the honest impressions and clicks.
    r = schema.trigger_rollups_hourly.c
    learned = sa.select(sa.func.sum(r.impressions), sa.func.sum(r.clicks), sa.func.sum(r.conversions))
    assert await world.cloud.store.db.read(lambda conn: tuple(conn.execute(learned).one())) == (2, 2, 0)
    cli = ["--cloud", f"127.0.0.1:{world.cloud.port}", "--token", world.admin_token]
    out = tmp_path / "report.csv"
    argv = [*cli, "report", "run", "--by", "campaign,ivt_rule", "--format", "csv", "--output", str(out)]
    assert await asyncio.to_thread(admin_cli.main, argv) == 0
    header, *lines = out.read_text().splitlines()
    cap = dict(zip(header.split(","), next(line.split(",") for line in lines if ",CLICK_CAP," in line), strict=True))
    assert (cap["campaign_id"], cap["invalid_clicks"], cap["invalid_traffic_rate"]) == ("c1", "100", "100.00%")


async def test_an_edge_that_calls_invalid_traffic_valid_is_overruled(world: World) -> None:
    """A click with no impression and a CPA conversion with no exposure, uploaded by an edge as valid,
    are stored invalid, charged nothing, and counted as the edge's disagreements."""
    spinach = await ad_for(world, "cart-x", "s-x", SPINACH)
    click = event("x-click", CLICK, spinach, "cart-x", "s-x")
    conversion = event(
        "cv:x", CONVERSION, spinach, "cart-x", "s-x", product_id=SPINACH, quantity=1, attributed_event_id="x-add"
    )
    await asyncio.sleep(VIEWABLE_WAIT_S)
    received = dt_to_ts(datetime.now(UTC))
    answer = await world.ingest.UploadEvents(
        event_ingest_pb2.UploadEventsRequest(
            store_id=STORE_ID,
            edge_id="edge-1",
            events=[
                event_ingest_pb2.JournaledEvent(seq=1_000_001, event=click, receive_time=received),
                event_ingest_pb2.JournaledEvent(seq=1_000_002, event=conversion, receive_time=received),
            ],
        )
    )
    assert (answer.invalid_count, answer.billed_count) == (2, 0)
    rows = await stored(world)
    assert rows["x-click"] == (ivt.CLICK_WITHOUT_IMPRESSION, "invalid", 0)
    assert rows["cv:x"] == (ivt.CONVERSION, "invalid", 0)
    edges = await world.admin.ListEdges(admin_pb2.ListEdgesRequest(store_id=STORE_ID))
    (edge,) = edges.edges
    assert (edge.edge_id, edge.ivt_disagreements) == ("edge-1", 2)


async def test_an_event_under_a_credential_the_store_never_issued_is_unenrolled(world: World) -> None:
    """An upload naming a credential the cloud does not know stores its event as UNENROLLED_CART, unbilled."""
    banana = await ad_for(world, "cart-y", "s-y", BANANA)
    await asyncio.sleep(VIEWABLE_WAIT_S)
    impression = event("y-imp", IMPRESSION, banana, "cart-y", "s-y", visible_duration_ms=1_100)
    journaled = event_ingest_pb2.JournaledEvent(
        seq=2_000_001, event=impression, receive_time=dt_to_ts(datetime.now(UTC)), cart_credential_id="cc-forged"
    )
    answer = await world.ingest.UploadEvents(
        event_ingest_pb2.UploadEventsRequest(store_id=STORE_ID, edge_id="edge-1", events=[journaled])
    )
    assert (answer.invalid_count, answer.billed_count) == (1, 0)
    assert (await stored(world))["y-imp"] == (ivt.UNENROLLED_CART, "invalid", 0)
