"""Builders of plain values and small seeded catalogs shared by cloud_core tests, and the calls tests
make of a running cloud (cartads-admin, uploads, the store's signing key)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import grpc
import pytest

from cartads import tracking_token
from cartads.rpc.errors import field_violations
from cartads.time_units import dt_to_ts
from cartads.v1 import admin_pb2, common_pb2, event_ingest_pb2, tracking_pb2
from cloud_core.access.policy import Role
from cloud_core.admin import validation
from cloud_core.admin_cli import main as admin_cli
from cloud_core.app.server import CloudServer
from cloud_core.events.charges import ChargePolicy, ChargeRecords

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STORE_ID = "s1"

AISLES = [
    admin_pb2.Aisle(aisle_id="24", display_name="fresh fruits"),
    admin_pb2.Aisle(aisle_id="83", display_name="fresh vegetables", zone_id="produce-east"),
]
DEPARTMENTS = [admin_pb2.Department(department_id="4", display_name="produce")]
PRODUCTS = [
    admin_pb2.Product(
        product_id="24852",
        display_name="Banana",
        aisle_id="24",
        department_id="4",
        brand="Chiquita",
        price_micros=290_000,
    ),
    admin_pb2.Product(
        product_id="13176",
        display_name="Bag of Organic Bananas",
        aisle_id="24",
        department_id="4",
        brand="Organic",
        price_micros=1_990_000,
    ),
    admin_pb2.Product(
        product_id="21903",
        display_name="Organic Baby Spinach",
        aisle_id="83",
        department_id="4",
        brand="Organic",
        price_micros=3_490_000,
    ),
]


# What validate_line_item knows of the world around a line item: its campaign's advertiser, the
# creatives' advertisers, the stores and the catalog.
LINE_ITEM_CONTEXT = validation.LineItemContext(
    campaign_advertiser_id="acme",
    creative_advertisers={"cr1": "acme", "other": "globex"},
    known_store_ids=frozenset({"s1"}),
    catalog=validation.CatalogIds(
        product_ids=frozenset({"24852"}),
        aisle_ids=frozenset({"24"}),
        department_ids=frozenset({"4"}),
        zone_ids=frozenset({"zone-24"}),
    ),
)


def violated_fields(violations: list[validation.Violation]) -> set[str]:
    """The fields named by validation violations."""
    return {field for field, _ in violations}


def campaign(
    campaign_id: str = "c1",
    *,
    advertiser_id: str = "acme",
    budget_micros: int = 10_000_000,
    start: datetime = NOW - timedelta(days=1),
    end: datetime = NOW + timedelta(days=30),
    state: admin_pb2.ServingState = admin_pb2.SERVING_STATE_ACTIVE,
) -> admin_pb2.Campaign:
    return admin_pb2.Campaign(
        campaign_id=campaign_id,
        advertiser_id=advertiser_id,
        display_name=f"Campaign {campaign_id}",
        start_time=dt_to_ts(start),
        end_time=dt_to_ts(end),
        budget_micros=budget_micros,
        state=state,
    )


def creative(
    creative_id: str = "cr1", *, advertiser_id: str = "acme", product_id: str = "24852"
) -> admin_pb2.CreativeSpec:
    return admin_pb2.CreativeSpec(
        creative_id=creative_id,
        advertiser_id=advertiser_id,
        display_name=f"Creative {creative_id}",
        format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT,
        headline="Go bananas",
        promoted_product_id=product_id,
        # Approved, as an admin would have it: written straight to a store it serves; sent to
        # CreateCreative it is ignored (the server makes every new creative pending).
        review_status=admin_pb2.CREATIVE_REVIEW_STATUS_APPROVED,
    )


def line_item(
    line_item_id: str = "li1",
    *,
    campaign_id: str = "c1",
    pricing_model: common_pb2.PricingModel = common_pb2.PRICING_MODEL_CPM,
    bid_micros: int = 5_000_000,
    targeting: admin_pb2.Targeting | None = None,
    creative_ids: tuple[str, ...] = ("cr1",),
    state: admin_pb2.ServingState = admin_pb2.SERVING_STATE_ACTIVE,
) -> admin_pb2.LineItem:
    return admin_pb2.LineItem(
        line_item_id=line_item_id,
        campaign_id=campaign_id,
        display_name=f"Line item {line_item_id}",
        pricing_model=pricing_model,
        bid_micros=bid_micros,
        targeting=targeting or admin_pb2.Targeting(),
        creative_ids=creative_ids,
        state=state,
    )


async def seed(admin: AdminServiceAsyncStub, *, budget_micros: int = 10_000_000) -> None:
    """Store s1 with a small catalog, advertiser acme, creative cr1 and campaign c1 (no line items)."""
    await admin.CreateStore(
        admin_pb2.CreateStoreRequest(
            store_id=STORE_ID, store=admin_pb2.Store(display_name="Test Market", time_zone="UTC")
        )
    )

    async def catalog() -> AsyncIterator[admin_pb2.ImportCatalogRequest]:
        yield admin_pb2.ImportCatalogRequest(store_id=STORE_ID, aisles=AISLES, departments=DEPARTMENTS)
        yield admin_pb2.ImportCatalogRequest(store_id=STORE_ID, products=PRODUCTS)

    await admin.ImportCatalog(catalog())
    await admin.CreateAdvertiser(
        admin_pb2.CreateAdvertiserRequest(advertiser_id="acme", advertiser=admin_pb2.Advertiser(display_name="Acme"))
    )
    await admin.CreateCreative(admin_pb2.CreateCreativeRequest(creative=creative()))
    await admin.ApproveCreative(admin_pb2.ApproveCreativeRequest(creative_id="cr1"))
    now = datetime.now(UTC)
    await admin.CreateCampaign(
        admin_pb2.CreateCampaignRequest(
            campaign=campaign(budget_micros=budget_micros, start=now - timedelta(days=1), end=now + timedelta(days=30))
        )
    )


def violations_of(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """Field -> description of a failed call's BadRequest details."""
    return dict(field_violations(error))


def ad_event(
    key: bytes,
    *,
    event_id: str,
    seq: int,
    ad_id: str = "ad-1",
    event_type: common_pb2.EventType = common_pb2.EVENT_TYPE_IMPRESSION,
    pricing_model: common_pb2.PricingModel = common_pb2.PRICING_MODEL_CPM,
    price_micros: int = 5_000_000,
    store_id: str = STORE_ID,
    line_item_id: str = "li1",
    cart_id: str = "cart-1",
    session_id: str = "sess-1",
) -> event_ingest_pb2.JournaledEvent:
    """A journaled ad event carrying a token signed with ``key``, as an honest cart reports it: decided
    two seconds before its receipt, and an impression visible for 1.2 s (a click or a conversion is
    honest only after an impression of its ad: see ``impression_then``)."""
    payload = tracking_pb2.TrackingTokenPayload(
        ad_id=ad_id,
        store_id=store_id,
        cart_id=cart_id,
        session_id=session_id,
        campaign_id="c1",
        line_item_id=line_item_id,
        creative_id="cr1",
        pricing_model=pricing_model,
        price_micros=price_micros,
        issue_time_unix_ms=int(datetime.now(UTC).timestamp() * 1000) - 2_000,
        advertiser_id="acme",
    )
    return event_ingest_pb2.JournaledEvent(
        seq=seq,
        event=common_pb2.CartEvent(
            event_id=event_id,
            type=event_type,
            cart_id=cart_id,
            session_id=session_id,
            ad_id=ad_id,
            tracking_token=tracking_token.sign(payload, key),
            visible_duration_ms=1_200 if event_type == common_pb2.EVENT_TYPE_IMPRESSION else 0,
        ),
        receive_time=dt_to_ts(datetime.now(UTC)),
    )


def upload(*events: event_ingest_pb2.JournaledEvent) -> event_ingest_pb2.UploadEventsRequest:
    """An UploadEvents request of edge-1 of store s1."""
    return event_ingest_pb2.UploadEventsRequest(store_id=STORE_ID, edge_id="edge-1", events=events)


async def signing_key_of(cloud_server: CloudServer) -> bytes:
    """Store s1's tracking-token signing key, as the cloud holds it."""
    key = await cloud_server.store.catalog.signing_key(STORE_ID)
    assert key is not None
    return key


async def run_admin_cli(cloud_server: CloudServer, token: str | None, *argv: str) -> int:
    """cartads-admin's exit code against ``cloud_server`` (no --token when ``token`` is None).

    It runs in a thread: the CLI blocks, and the loop it would block serves the cloud.
    """
    flags = ["--cloud", f"127.0.0.1:{cloud_server.port}"] + (["--token", token] if token is not None else [])
    return await asyncio.to_thread(admin_cli.main, [*flags, *argv])


async def run_admin_cli_as_admin(cloud_server: CloudServer, *argv: str) -> int:
    """cartads-admin's exit code against ``cloud_server`` with a newly minted admin token."""
    return await run_admin_cli(cloud_server, await cloud_server.mint_token(Role.ADMIN), *argv)


async def admin_cli_json(cloud_server: CloudServer, token: str, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """What ``cartads-admin --json ARGV`` prints, parsed; the command must succeed."""
    capsys.readouterr()
    assert await run_admin_cli(cloud_server, token, "--json", *argv) == 0
    return json.loads(capsys.readouterr().out)


def legacy_judging(key: bytes, store_id: str = STORE_ID) -> tuple[ChargePolicy, ChargeRecords]:
    """How ingest judges tokens of the store's shared ``key`` before the cut-over (nothing recorded)."""
    return ChargePolicy(store_id, key, legacy_until_us=2**62, now_us=0), ChargeRecords()
