"""The end-to-end demo: cloud, edge and concurrent carts replaying real trips, in one process,
talking only over real gRPC on loopback."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cart_client.app.catalog_loader import cart_catalog_from_sample
from cart_client.bus.mqtt import BusConfig
from cart_client.sensors.trace import SensorEvent
from cart_client.sim.replay import replay_trips
from cart_client.sim.simulator import simulate, store_layout
from cart_client.sim.trip_trace import trace_from_order
from cartads.cart_limits import PerCartLimits
from cartads.demo.scenario import create_advertisers, create_store, enroll_carts, plan_advertisers
from cartads.demo.summary import DemoSummary, summarize
from cartads.rpc.bearer import aio_channel
from cartads.sample.instacart import Catalog, Order, load_catalog, load_orders
from cartads.v1 import admin_pb2
from cartads.v1.admin_pb2_grpc import AdminServiceStub
from cloud_core.access.policy import Role
from cloud_core.app.server import start_cloud
from cloud_core.config import CloudConfig
from edge_node.app.server import start_edge
from edge_node.config import EdgeConfig

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

STORE_ID = "store-1"
# The demo replays each trip far faster than people shop (only the shoppers' looks at ads take real
# time): a trip's calls of half an hour arrive within seconds, above a real cart's rate (default 20
# calls/s, burst 60). The store's limits are raised to match; every call is still checked against them.
DEMO_CART_LIMITS = PerCartLimits(calls_per_s=2_000.0, call_burst=5_000, events_per_s=20_000.0, event_burst=50_000)


@dataclass(frozen=True)
class DemoConfig:
    carts: int = 8
    trips: int = 32
    seed: int = 7
    click_probability: float = 0.15
    billing_timeout_s: float = 60.0
    work_dir: Path | None = None
    # Drive the carts through this MQTT sensor bus (the trips' devices publish, the carts subscribe).
    sensor_bus: BusConfig | None = None


def trace_for_order(order: Order, catalog: Catalog, seed: int, click_probability: float = 0.15) -> list[SensorEvent]:
    """The sensor trace of one real order, the same for the same seed."""
    placements, zone_order = store_layout(catalog, barcodes=False)
    return trace_from_order(
        order.product_ids, placements, zone_order, random.Random(seed), click_probability=click_probability
    )


async def wait_until_billed(
    admin: AdminServiceAsyncStub, expected_events: int, timeout_s: float, store_id: str = STORE_ID
) -> admin_pb2.GetSpendReportResponse:
    """The store's spend report once it bills ``expected_events`` impressions and clicks (or at the timeout)."""
    deadline = time.monotonic() + timeout_s
    delay_s = 0.05
    while True:
        report: admin_pb2.GetSpendReportResponse = await admin.GetSpendReport(
            admin_pb2.GetSpendReportRequest(store_id=store_id)
        )
        # Impressions and clicks only: conversions are billed too, but no cart reported them.
        billed = sum(c.impressions + c.clicks for c in report.campaigns)
        if billed >= expected_events or time.monotonic() > deadline:
            return report
        await asyncio.sleep(delay_s)  # polling a remote report: there is no event to await across gRPC
        delay_s = min(delay_s * 2, 0.5)


async def run_demo(config: DemoConfig) -> DemoSummary:
    """Set up a store and its advertisers, replay trips through an edge, wait for billing, summarize."""
    catalog = load_catalog()
    orders = load_orders()
    trips = simulate(
        orders,
        catalog,
        count=config.trips,
        seed=config.seed,
        click_probability=config.click_probability,
        barcodes=False,
    )
    with tempfile.TemporaryDirectory(prefix="cartads-demo-", dir=config.work_dir) as tmp:
        work = Path(tmp)
        cloud = await start_cloud(
            CloudConfig(db=str(work / "cloud.sqlite3"), listen_address="127.0.0.1:0", cart_limits=DEMO_CART_LIMITS)
        )
        try:
            cloud_address = f"127.0.0.1:{cloud.port}"
            # The operator and the edge each get their own credentials, as in a real deployment.
            admin_token = await cloud.mint_token(Role.ADMIN, display_name="demo operator")
            edge_token = await cloud.mint_token(Role.EDGE, store_id=STORE_ID, display_name="demo edge-1")
            async with aio_channel(cloud_address, admin_token) as channel:
                admin = AdminServiceStub(channel)
                await create_store(admin, STORE_ID, "CartAds Demo Market", "America/Chicago", catalog)
                await create_advertisers(admin, plan_advertisers(catalog, orders), STORE_ID, datetime.now(UTC))
                # Every cart is enrolled before it starts, and sends its own credential on every call.
                credentials = await enroll_carts(admin, STORE_ID, [f"cart-{n:03d}" for n in range(config.carts)])
                edge = await start_edge(
                    EdgeConfig(
                        store_id=STORE_ID,
                        edge_id="edge-1",
                        cloud_address=cloud_address,
                        data_dir=str(work / "edge"),
                        listen_address="127.0.0.1:0",
                        cloud_token=edge_token,
                    )
                )
                try:
                    await edge.wait_for_index(timeout_s=30.0)
                    started = time.monotonic()
                    stats = await replay_trips(
                        f"127.0.0.1:{edge.port}",
                        [(f"trip-{trip.order_id}", trip.events) for trip in trips],
                        store_id=STORE_ID,
                        carts=config.carts,
                        cart_id_prefix="cart-",
                        credentials=credentials,
                        # Real weights let the cart's scale confirm scans; aisles let it judge an ad's relevance.
                        catalog=cart_catalog_from_sample(catalog),
                        sensor_bus=config.sensor_bus,
                    )
                    await edge.wait_for_upload(timeout_s=config.billing_timeout_s)
                    expected = sum(s.impressions_reported + s.clicks_reported for s in stats)
                    report = await wait_until_billed(admin, expected, config.billing_timeout_s)
                    elapsed_s = time.monotonic() - started
                    version = edge.index_version
                finally:
                    await edge.stop(grace_s=1.0)
        finally:
            await cloud.stop(grace_s=1.0)
    return summarize(stats, report, carts=config.carts, index_version=version, elapsed_s=elapsed_s)
