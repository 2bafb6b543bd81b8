"""A live store for the load benchmarks (``soak``, ``store-day``): a real cloud process holding the demo's
store and advertisers, enrolled carts, and the edge under test as its own process, plus the admin
changes that push a new index to it (thin: processes and admin calls)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from cartads.bench.soak.processes import Server, start_cloud, start_edge
from cartads.credential_file import CartCredentialEntry
from cartads.demo.scenario import AdvertiserPlan, create_advertisers, create_store, enroll_carts, plan_advertisers
from cartads.rpc.bearer import aio_channel
from cartads.sample.instacart import Catalog, Order
from cartads.v1 import admin_pb2
from cartads.v1.ad_service_pb2 import GetAdsRequest
from cartads.v1.ad_service_pb2_grpc import AdServiceStub
from cartads.v1.admin_pb2_grpc import AdminServiceStub
from cartads.v1.common_pb2 import Trigger

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

STORE_ID = "store-1"
_READY_TIMEOUT_S = 120.0


@dataclass
class LiveStore:
    """The running store: its admin stub, the planned advertisers, every enrolled cart's credential."""

    cloud: Server
    edge: Server
    ops_port: int
    admin: AdminServiceAsyncStub
    plans: list[AdvertiserPlan]
    credentials: list[CartCredentialEntry]
    # Exit codes of the edge and the cloud, filled in when the store closes.
    exit_codes: dict[str, int | None] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def live_store(
    work: Path, catalog: Catalog, orders: Sequence[Order], cart_ids: Sequence[str], *, edge_name: str = "soak-edge"
) -> AsyncIterator[LiveStore]:
    """Cloud and edge processes in ``work``, the store with its catalog and advertisers, ``cart_ids``
    enrolled; yields once the edge's index enrols the last of them. Both processes stop on exit."""
    cloud, admin_token = await start_cloud(work)
    edge: Server | None = None
    store: LiveStore | None = None
    try:
        async with aio_channel(f"127.0.0.1:{cloud.port}", admin_token) as channel:
            admin: AdminServiceAsyncStub = AdminServiceStub(channel)
            await create_store(admin, STORE_ID, "CartAds Soak Market", "America/Chicago", catalog)
            plans = plan_advertisers(catalog, orders)
            await create_advertisers(admin, plans, STORE_ID, datetime.now(UTC))
            credentials = await enroll_carts(admin, STORE_ID, list(cart_ids))
            made = await admin.CreateApiToken(
                admin_pb2.CreateApiTokenRequest(
                    api_token=admin_pb2.ApiToken(
                        role=admin_pb2.API_TOKEN_ROLE_EDGE, store_id=STORE_ID, display_name=edge_name
                    )
                )
            )
            token_file = work / "edge.token"
            token_file.write_text(made.secret)
            edge, ops_port = await start_edge(
                work, store_id=STORE_ID, cloud_port=cloud.port, token_file=token_file, edge_id=edge_name
            )
            store = LiveStore(cloud, edge, ops_port, admin, plans, credentials)
            await wait_until_enrolled(edge.port, credentials[-1])
            yield store
    finally:
        codes = {"edge": edge.stop() if edge is not None else None, "cloud": cloud.stop()}
        if store is not None:
            store.exit_codes.update(codes)


async def wait_until_enrolled(edge_port: int, last: CartCredentialEntry) -> None:
    """Until the edge answers GetAds for the last enrolled cart: its index then enrols every cart
    (carts are enrolled one after another, each into a newer index)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _READY_TIMEOUT_S
    async with grpc.aio.insecure_channel(f"127.0.0.1:{edge_port}") as channel:
        stub = AdServiceStub(channel)
        request = GetAdsRequest(
            store_id=STORE_ID,
            cart_id=last.cart_id,
            cart_credential=last.credential,
            session_id="enrolment-check",
            request_id="enrolment-check",
            trigger=Trigger.TRIGGER_SESSION_START,
            max_ads=1,
        )
        while True:
            try:
                await stub.GetAds(request, timeout=5)
                return
            except grpc.aio.AioRpcError as error:
                if loop.time() > deadline:
                    raise RuntimeError(f"the edge never served cart {last.cart_id}: {error.code().name}") from None
            await asyncio.sleep(0.2)  # the index arrives from another process: nothing here to await


async def push_index(admin: AdminServiceAsyncStub, plans: list[AdvertiserPlan], push_no: int) -> None:
    """Change a line item's bid (a different bid for each ``push_no``): the cloud pushes a new index."""
    item = plans[0].line_items[0]
    request = admin_pb2.UpdateLineItemRequest(
        line_item=admin_pb2.LineItem(line_item_id=item.line_item_id, bid_micros=item.bid_micros + 1 + push_no % 997)
    )
    request.update_mask.paths.append("bid_micros")
    await admin.UpdateLineItem(request, timeout=10)
