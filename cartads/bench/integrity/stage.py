"""The integrity bench's stage: a real cloud and edge serving the demo's store, its enrolled carts,
the honest shoppers, and what the attackers are given (thin: set-up and reads over gRPC)."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cart_client.app.catalog_loader import cart_catalog_from_sample
from cart_client.app.runner import TripStats
from cart_client.sim.replay import replay_trips
from cart_client.sim.simulator import simulate
from cartads.bench.integrity.attacks import Target, Terms
from cartads.credential_file import CartCredentialEntry
from cartads.demo.scenario import AdvertiserPlan, create_advertisers, create_store, plan_advertisers
from cartads.rpc.bearer import aio_channel
from cartads.sample.instacart import Catalog, load_catalog, load_orders
from cartads.time_units import DAY_US, HOUR_US, us_to_ts
from cartads.v1 import admin_pb2, common_pb2
from cartads.v1.admin_pb2_grpc import AdminServiceStub
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer, start_cloud
from cloud_core.config import CloudConfig
from edge_node.app.server import EdgeServer, start_edge
from edge_node.config import EdgeConfig
from edge_node.sync import signing_keys

STORE_ID = "store-1"
EDGE_ID = "edge-1"
_DRAIN_TIMEOUT_S = 120.0


@dataclass
class Stage:
    """A running cloud and edge with the demo's store, and the credentials of its carts."""

    cloud: CloudServer
    edge: EdgeServer
    admin: Any
    catalog: Catalog
    plans: list[AdvertiserPlan]
    credentials: dict[str, str]
    honest_cart_ids: list[str]
    target: Target
    work: Path
    notes: dict[str, Any] = field(default_factory=dict)

    async def shop(self, *, trips: int, seed: int) -> TripStats:
        """The honest carts replay ``trips`` real orders, each shopper looking at ads as a person does."""
        orders = load_orders()
        simulated = simulate(orders, self.catalog, count=trips, seed=seed, barcodes=False)
        stats = await replay_trips(
            f"127.0.0.1:{self.edge.port}",
            [(f"honest-{trip.order_id}", trip.events) for trip in simulated],
            store_id=STORE_ID,
            carts=len(self.honest_cart_ids),
            cart_id_prefix="honest-",
            catalog=cart_catalog_from_sample(self.catalog),
            deadline_s=1.0,
            credentials=[CartCredentialEntry(STORE_ID, c, self.credentials[c]) for c in self.honest_cart_ids],
        )
        return TripStats.total(stats)

    async def settle(self) -> dict[str, Any]:
        """Wait until the edge's journal has drained into the cloud, then read what the audit checks."""
        started = time.monotonic()
        await self.edge.wait_for_upload(timeout_s=_DRAIN_TIMEOUT_S)
        drained_s = time.monotonic() - started
        # The whole run lies within the last day; reports take whole hours.
        now_us = int(time.time() * 1_000_000)
        start, end = us_to_ts(now_us - DAY_US), us_to_ts(now_us + HOUR_US)

        def report_by(dimension: admin_pb2.ReportDimension) -> admin_pb2.RunReportRequest:
            return admin_pb2.RunReportRequest(
                dimensions=[dimension], store_ids=[STORE_ID], start_time=start, end_time=end
            )

        report = await self.admin.RunReport(report_by(admin_pb2.REPORT_DIMENSION_STORE))
        rows = list(report.rows)
        by_rule = await self.admin.RunReport(report_by(admin_pb2.REPORT_DIMENSION_INVALID_TRAFFIC_RULE))
        dead = await self.admin.ListDeadLetters(admin_pb2.ListDeadLettersRequest(store_id=STORE_ID, page_size=1000))
        edges = await self.admin.ListEdges(admin_pb2.ListEdgesRequest(store_id=STORE_ID))
        flagged = [e for e in edges.edges if e.flagged]
        return {
            "journal_drained": self.edge.journal_depth() == 0,
            "journal_drain_s": round(drained_s, 2),
            "invalid_traffic_rate": round(rows[0].metrics.invalid_traffic_rate, 4) if rows else 0.0,
            "invalid_events": rows[0].metrics.invalid_events if rows else 0,
            "invalid_events_by_rule": {
                common_pb2.InvalidTrafficRule.Name(r.invalid_traffic_rule): r.metrics.invalid_events
                for r in by_rule.rows
            },
            "dead_letters_by_reason": dict(
                Counter(admin_pb2.DeadLetterReason.Name(d.reason_code) for d in dead.dead_letters)
            ),
            "edge_flagged": bool(flagged),
            "edge_flag_reason": flagged[0].flag_reason if flagged else "",
            "servers_up": await _serving(f"127.0.0.1:{self.cloud.port}")
            and await _serving(f"127.0.0.1:{self.edge.port}"),
        }

    async def billed_by_cart(self) -> list[tuple[str, int, int, int]]:
        return await self.cloud.store.reports.billed_by_cart(STORE_ID)


def _stolen_key(data_dir: Path) -> tuple[str, bytes]:
    """The edge's newest signing key, read from its disk as a thief of the disk would."""
    return signing_keys.stored_keys(data_dir)[-1]


async def _serving(address: str) -> bool:
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            answer = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5.0)
        except grpc.aio.AioRpcError:
            return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


async def _enrol(admin: Any, cart_id: str) -> str:
    answer = await admin.CreateCart(
        admin_pb2.CreateCartRequest(cart=admin_pb2.Cart(store_id=STORE_ID, cart_id=cart_id, display_name=cart_id))
    )
    return str(answer.credential)


def _terms(plans: list[AdvertiserPlan]) -> tuple[Terms, str, str]:
    """A CPC line item of the first advertiser, a product whose scan draws its ads, another's creative."""
    plan = plans[0]
    cpc = next(li for li in plan.line_items if li.pricing_model == common_pb2.PRICING_MODEL_CPC)
    scanned = next(pid for li in plan.line_items for pid in li.product_ids)
    terms = Terms(
        line_item_id=cpc.line_item_id,
        campaign_id=plan.campaign_id,
        advertiser_id=plan.advertiser_id,
        creative_id=cpc.creative_id,
        pricing_model=int(cpc.pricing_model),
        bid_micros=cpc.bid_micros,
    )
    return terms, scanned, plans[1].creatives[0].creative_id


@contextlib.asynccontextmanager
async def open_stage(work: Path, *, db_url: str, carts: int) -> AsyncIterator[Stage]:
    """A cloud and an edge serving the demo's store, with ``carts`` honest carts and the rogues' carts enrolled."""
    catalog = load_catalog()
    orders = load_orders()
    cloud = await start_cloud(CloudConfig(db=db_url or str(work / "cloud.sqlite3"), listen_address="127.0.0.1:0"))
    try:
        cloud_address = f"127.0.0.1:{cloud.port}"
        admin_token = await cloud.mint_token(Role.ADMIN, display_name="integrity operator")
        edge_token = await cloud.mint_token(Role.EDGE, store_id=STORE_ID, display_name="integrity edge-1")
        async with aio_channel(cloud_address, admin_token) as channel:
            admin = AdminServiceStub(channel)
            await create_store(admin, STORE_ID, "CartAds Integrity Market", "America/Chicago", catalog)
            plans = plan_advertisers(catalog, orders)
            await create_advertisers(admin, plans, STORE_ID, datetime.now(UTC))
            honest = [f"honest-{n:03d}" for n in range(max(1, carts))]
            credentials = {cart_id: await _enrol(admin, cart_id) for cart_id in honest}
            for rogue in ("stolen-cart", "poison-cart", "flood-cart"):
                credentials[rogue] = await _enrol(admin, rogue)
            edge = await start_edge(
                EdgeConfig(
                    store_id=STORE_ID,
                    edge_id=EDGE_ID,
                    cloud_address=cloud_address,
                    data_dir=str(work / "edge"),
                    listen_address="127.0.0.1:0",
                    cloud_token=edge_token,
                )
            )
            try:
                await edge.wait_for_index(timeout_s=30.0)
                terms, scanned, foreign_creative = _terms(plans)
                key_id, key = _stolen_key(work / "edge")
                target = Target(
                    edge_address=f"127.0.0.1:{edge.port}",
                    cloud_address=cloud_address,
                    store_id=STORE_ID,
                    edge_id=EDGE_ID,
                    product_id=scanned,
                    stolen_credential=credentials["stolen-cart"],
                    stolen_cart_id="stolen-cart",
                    victim_cart_id=honest[0],
                    poison_credential=credentials["poison-cart"],
                    flood_credential=credentials["flood-cart"],
                    flood_cart_id="flood-cart",
                    edge_token=edge_token,
                    edge_key_id=key_id,
                    edge_key_hex=key.hex(),
                    index_version=edge.index_version,
                    terms=terms,
                    foreign_creative_id=foreign_creative,
                )
                yield Stage(
                    cloud=cloud,
                    edge=edge,
                    admin=admin,
                    catalog=catalog,
                    plans=plans,
                    credentials=credentials,
                    honest_cart_ids=honest,
                    target=target,
                    work=work,
                )
            finally:
                await edge.stop(grace_s=1.0)
    finally:
        await cloud.stop(grace_s=1.0)


__all__ = ["STORE_ID", "Stage", "open_stage"]
