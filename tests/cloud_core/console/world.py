"""A real cloud serving the operator console, with a store, campaigns, an experiment layer with a
holdout, a connected edge and billed spend.

Spend comes two ways, both through the cloud's real write paths: trips that carts report to a real
edge now (impressions, basket adds and checkouts, uploaded and billed by EventIngestService, each
carrying its experiment arm), and events that an edge journaled in earlier hours while it was
offline and uploads late (recorded through the ledger exactly as ingest records them; rollups use
each event's receive time, so they land in those earlier hours).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cartads.rpc.bearer import aio_channel
from cartads.time_units import HOUR_US, hour_start_us, now_us, us_to_ts
from cartads.v1 import ad_service_pb2, admin_pb2, common_pb2
from cartads.v1.ad_service_pb2_grpc import AdServiceStub
from cartads.v1.admin_pb2_grpc import AdminServiceStub
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer, start_cloud
from cloud_core.config import CloudConfig
from cloud_core.events.outcomes import EventOutcome
from edge_node.app.server import EdgeServer, start_edge
from edge_node.index.arms import Arm, Layer, assign
from tests.cart_credentials import CloudEnroller, ad_channel
from tests.edge_node.helpers import edge_config
from tests.instant_ivt import INSTANT_IVT

if TYPE_CHECKING:
    from cartads.v1.ad_service_pb2_grpc import AdServiceAsyncStub
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

STORE_ID = "store-1"
ADVERTISER_ID = "adv-brewed"
CAMPAIGN_ID = "cmp-kombucha"
IDLE_CAMPAIGN_ID = "cmp-oat"
LINE_ITEM_ID = "li-kombucha-ros"
BUDGET_MICROS = 2_000_000
# A lone bidder pays the reserve: $40 CPM makes each impression cost 4 cents.
RESERVE_CPM_MICROS = 40_000_000
PROMOTED_PRODUCT_ID = "1118"
OTHER_PRODUCT_ID = "196"
LAYER_ID = "ads-lift"
LAYER_SALT = "console"
ARMS = (Arm("exposed", 5_000), Arm("holdout", 5_000, holdout=True))
# Trips per arm. Every exposed trip sees the kombucha ad and buys it; half of the holdout trips buy it.
TRIPS_PER_ARM = 6
LIVE_IMPRESSIONS = TRIPS_PER_ARM
# (hours before the current one, impressions) an offline edge uploads late.
LATE_HOURS = ((9, 6), (7, 10), (4, 4), (2, 12), (1, 5))
# Each late impression's ad was played first; in each late hour one more ad played and never became viewable.
LATE_PLAYS = sum(n + 1 for _, n in LATE_HOURS)


@dataclass
class ConsoleWorld:
    """The running cloud and edge, an admin client, and tokens for the console."""

    cloud: CloudServer
    edge: EdgeServer
    admin: AdminServiceAsyncStub
    viewer_token: str
    admin_token: str
    advertiser_token: str

    @property
    def url(self) -> str:
        assert self.cloud.console is not None
        return self.cloud.console.url


async def _catalog() -> AsyncIterator[admin_pb2.ImportCatalogRequest]:
    yield admin_pb2.ImportCatalogRequest(
        store_id=STORE_ID,
        aisles=[
            admin_pb2.Aisle(aisle_id="31", display_name="refrigerated"),
            admin_pb2.Aisle(aisle_id="77", display_name="soft drinks"),
        ],
        departments=[admin_pb2.Department(department_id="7", display_name="beverages")],
    )
    yield admin_pb2.ImportCatalogRequest(
        store_id=STORE_ID,
        products=[
            admin_pb2.Product(
                product_id=PROMOTED_PRODUCT_ID,
                display_name="Ginger Chia Kombucha",
                aisle_id="31",
                department_id="7",
                brand="Brewed",
                price_micros=3_990_000,
            ),
            admin_pb2.Product(
                product_id=OTHER_PRODUCT_ID,
                display_name="Soda",
                aisle_id="77",
                department_id="7",
                brand="Fizz",
                price_micros=1_290_000,
            ),
        ],
    )


async def _seed_admin(admin: AdminServiceAsyncStub, now: int) -> None:
    await admin.CreateStore(
        admin_pb2.CreateStoreRequest(
            store_id=STORE_ID, store=admin_pb2.Store(display_name="Demo Market", time_zone="America/Chicago")
        )
    )
    await admin.ImportCatalog(_catalog())
    await admin.CreateAdvertiser(
        admin_pb2.CreateAdvertiserRequest(
            advertiser_id=ADVERTISER_ID, advertiser=admin_pb2.Advertiser(display_name="Brewed Co")
        )
    )
    for campaign_id, name, budget, start, end in (
        (CAMPAIGN_ID, "Kombucha launch", BUDGET_MICROS, now - 11 * HOUR_US, now + 12 * HOUR_US),
        (IDLE_CAMPAIGN_ID, "Oat milk trial", 5_000_000, now - 3 * HOUR_US, now + 45 * HOUR_US),
    ):
        await admin.CreateCampaign(
            admin_pb2.CreateCampaignRequest(
                campaign_id=campaign_id,
                campaign=admin_pb2.Campaign(
                    advertiser_id=ADVERTISER_ID,
                    display_name=name,
                    start_time=us_to_ts(start),
                    end_time=us_to_ts(end),
                    budget_micros=budget,
                    state=admin_pb2.SERVING_STATE_ACTIVE,
                ),
            )
        )
    await admin.CreateCreative(
        admin_pb2.CreateCreativeRequest(
            creative_id="cr-kombucha",
            creative=admin_pb2.CreativeSpec(
                advertiser_id=ADVERTISER_ID,
                display_name="Kombucha card",
                format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
                headline="Ginger Chia Kombucha",
                body="Cold in aisle 31",
                promoted_product_id=PROMOTED_PRODUCT_ID,
                call_to_action="Add to cart",
            ),
        )
    )
    await admin.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id="cr-kombucha"))
    await admin.CreateLineItem(
        admin_pb2.CreateLineItemRequest(
            line_item_id=LINE_ITEM_ID,
            line_item=admin_pb2.LineItem(
                campaign_id=CAMPAIGN_ID,
                display_name="Run of store",
                pricing_model=common_pb2.PRICING_MODEL_CPM,
                bid_micros=60_000_000,
                targeting=admin_pb2.Targeting(store_ids=[STORE_ID]),
                creative_ids=["cr-kombucha"],
                state=admin_pb2.SERVING_STATE_ACTIVE,
                pacing_type=admin_pb2.PACING_TYPE_ASAP,
            ),
        )
    )
    await admin.CreateExperimentLayer(
        admin_pb2.CreateExperimentLayerRequest(
            layer_id=LAYER_ID,
            experiment_layer=admin_pb2.ExperimentLayer(
                display_name="Ads vs no ads",
                salt=LAYER_SALT,
                state=admin_pb2.SERVING_STATE_ACTIVE,
                arms=[
                    admin_pb2.ExperimentArm(
                        arm_id=a.arm_id, display_name=a.arm_id.title(), traffic_bps=a.traffic_bps, holdout=a.holdout
                    )
                    for a in ARMS
                ],
            ),
        )
    )


def sessions(arm_id: str, count: int) -> list[str]:
    """Session ids the layer puts in ``arm_id`` (the same pure assignment the edge makes)."""
    layer = Layer(LAYER_ID, LAYER_SALT, ARMS)
    out: list[str] = []
    i = 0
    while len(out) < count:
        session_id = f"trip-{i}"
        if assign(session_id, [layer])[0][1].arm_id == arm_id:
            out.append(session_id)
        i += 1
    return out


async def _trip(ads: AdServiceAsyncStub, session_id: str, product_id: str) -> int:
    """One trip: an ad at session start (its impression reported), an add of ``product_id`` unless the
    trip saw an ad (then the ad's product), and checkout. Returns the impressions reported."""
    cart_id = f"cart-{session_id}"
    response = await ads.GetAds(
        ad_service_pb2.GetAdsRequest(
            store_id=STORE_ID,
            cart_id=cart_id,
            session_id=session_id,
            request_id=f"req-{session_id}",
            trigger=common_pb2.TRIGGER_SESSION_START,
            max_ads=1,
        )
    )
    plays = [
        common_pb2.CartEvent(
            event_id=f"{session_id}-play-{ad.ad_id}",
            type=common_pb2.EVENT_TYPE_AD_PLAY,
            cart_id=cart_id,
            session_id=session_id,
            tracking_token=ad.tracking_token,
            ad_id=ad.ad_id,
        )
        for ad in response.ads
    ]
    events = plays + [
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
    added = response.ads[0].creative.promoted_product_id if response.ads else product_id
    events.append(
        common_pb2.CartEvent(
            event_id=f"{session_id}-add",
            type=common_pb2.EVENT_TYPE_BASKET_ADD,
            cart_id=cart_id,
            session_id=session_id,
            product_id=added,
            quantity=1,
        )
    )
    events.append(
        common_pb2.CartEvent(
            event_id=f"{session_id}-checkout",
            type=common_pb2.EVENT_TYPE_CHECKOUT,
            cart_id=cart_id,
            session_id=session_id,
        )
    )
    await ads.ReportEvents(ad_service_pb2.ReportEventsRequest(store_id=STORE_ID, cart_id=cart_id, events=events))
    return len(response.ads)


async def _shop(edge: EdgeServer, admin: AdminServiceAsyncStub) -> None:
    """Trips of both arms: exposed ones see the ad and buy its product, half of the holdout buy it anyway.
    Each trip's cart is enrolled first, and sends its credential."""
    carts = CloudEnroller(admin, STORE_ID, edge.knows_credential)
    trips = [*sessions("exposed", TRIPS_PER_ARM), *sessions("holdout", TRIPS_PER_ARM)]
    await carts.enroll_many(f"cart-{session_id}" for session_id in trips)
    async with ad_channel(f"127.0.0.1:{edge.port}", carts) as channel:
        ads = AdServiceStub(channel)
        shown = 0
        for session_id in sessions("exposed", TRIPS_PER_ARM):
            shown += await _trip(ads, session_id, OTHER_PRODUCT_ID)
        for i, session_id in enumerate(sessions("holdout", TRIPS_PER_ARM)):
            shown += await _trip(ads, session_id, PROMOTED_PRODUCT_ID if i % 2 else OTHER_PRODUCT_ID)
    assert shown == LIVE_IMPRESSIONS, f"expected every exposed trip and no holdout trip to see an ad, saw {shown}"
    await edge.wait_for_upload(timeout_s=10.0)


async def _late_upload(cloud: CloudServer, now: int) -> None:
    """Impressions an offline edge journaled in earlier hours, recorded as ingest records a late upload."""
    charge = RESERVE_CPM_MICROS // 1000
    outcomes: list[EventOutcome] = []
    for hours_ago, count in LATE_HOURS:
        received = hour_start_us(now) - hours_ago * HOUR_US + 17 * 60 * 1_000_000
        for i in range(count + 1):
            # Plays bill nothing: recorded with their verified token, as billing assesses them.
            outcomes.append(
                EventOutcome(
                    seq=len(outcomes) + 1,
                    event_id=f"late-play-{hours_ago}-{i}",
                    event_type=common_pb2.EVENT_TYPE_AD_PLAY,
                    cart_id="cart-offline",
                    session_id=f"trip-offline-{hours_ago}-{i}",
                    event_blob=b"",
                    receive_time_us=received,
                    ad_id=f"ad-late-{hours_ago}-{i}",
                    advertiser_id=ADVERTISER_ID,
                    campaign_id=CAMPAIGN_ID,
                    line_item_id=LINE_ITEM_ID,
                    pricing_model=common_pb2.PRICING_MODEL_CPM,
                )
            )
        for i in range(count):
            event_id = f"late-{hours_ago}-{i}"
            event = common_pb2.CartEvent(
                event_id=event_id, type=common_pb2.EVENT_TYPE_IMPRESSION, ad_id=f"ad-{event_id}"
            )
            outcomes.append(
                EventOutcome(
                    seq=len(outcomes) + 1,
                    event_id=event_id,
                    event_type=common_pb2.EVENT_TYPE_IMPRESSION,
                    cart_id="cart-offline",
                    session_id=f"trip-offline-{hours_ago}-{i}",
                    event_blob=event.SerializeToString(),
                    occur_time_us=received,
                    receive_time_us=received,
                    ad_id=f"ad-{event_id}",
                    advertiser_id=ADVERTISER_ID,
                    campaign_id=CAMPAIGN_ID,
                    line_item_id=LINE_ITEM_ID,
                    pricing_model=common_pb2.PRICING_MODEL_CPM,
                    billable=True,
                    charge_micros=charge,
                )
            )
    await cloud.store.ledger.record_events(STORE_ID, "edge-offline", outcomes)


@asynccontextmanager
async def console_world(tmp_path: Path, db: str) -> AsyncIterator[ConsoleWorld]:
    """A cloud on ``db`` with its console on port 0, the store's edge connected, and spend in several hours."""
    now = now_us()
    cloud = await start_cloud(
        CloudConfig(
            db=db,
            listen_address="127.0.0.1:0",
            console_listen_address="127.0.0.1:0",
            push_delay_s=0.02,
            reserve_cpm_micros=RESERVE_CPM_MICROS,
            ivt_policy=INSTANT_IVT,
            # One lease window covers the rest of the flight, so the edge may spend the whole budget.
            lease_period_s=24 * 3600,
        )
    )
    edge: EdgeServer | None = None
    try:
        admin_token = await cloud.mint_token(Role.ADMIN)
        async with aio_channel(f"127.0.0.1:{cloud.port}", admin_token) as channel:
            admin = AdminServiceStub(channel)
            await _seed_admin(admin, now)
            edge = await start_edge(
                edge_config(tmp_path, cloud.port, cloud_token=await cloud.mint_token(Role.EDGE, store_id=STORE_ID))
            )
            await edge.wait_for_index(timeout_s=10.0)
            await _shop(edge, admin)
            await _late_upload(cloud, now)
            yield ConsoleWorld(
                cloud=cloud,
                edge=edge,
                admin=admin,
                viewer_token=await cloud.mint_token(Role.VIEWER),
                admin_token=admin_token,
                advertiser_token=await cloud.mint_token(Role.ADVERTISER, advertiser_id=ADVERTISER_ID),
            )
    finally:
        if edge is not None:
            await edge.stop(grace_s=0.5)
        await cloud.stop(grace_s=0.5)
