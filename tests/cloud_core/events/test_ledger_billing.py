"""The ledger over a real cloud: CPA conversions, hourly rollups, dead letters, concurrent uploads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc
import pytest
import sqlalchemy as sa

from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2, admin_pb2_grpc, common_pb2, event_ingest_pb2, event_ingest_pb2_grpc
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer, start_cloud
from cloud_core.config import CloudConfig
from cloud_core.storage import schema
from tests.cloud_core.helpers import STORE_ID, ad_event, run_admin_cli, seed, signing_key_of, upload

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub
    from cartads.v1.event_ingest_pb2_grpc import EventIngestServiceAsyncStub

CONVERSION = common_pb2.EVENT_TYPE_CONVERSION
CPA = common_pb2.PRICING_MODEL_CPA


@pytest.fixture
async def cloud_server(db_url: str) -> AsyncIterator[CloudServer]:
    """The ``cloud_server`` of the cloud_core conftest, on each storage engine."""
    server = await start_cloud(CloudConfig(db=db_url, listen_address="127.0.0.1:0", push_delay_s=0.02))
    try:
        yield server
    finally:
        await server.stop(grace_s=0.2)


def conversion(key: bytes, event_id: str, seq: int, ad_id: str, product_id: str) -> event_ingest_pb2.JournaledEvent:
    journaled = ad_event(
        key, event_id=event_id, seq=seq, ad_id=ad_id, event_type=CONVERSION, pricing_model=CPA, price_micros=700_000
    )
    journaled.event.product_id = product_id
    return journaled


async def test_cpa_conversion_is_billed_once_per_decision_and_product(
    admin: AdminServiceAsyncStub, ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """Conversions charge the CPA price once per decision and product, and show in the report."""
    await seed(admin)
    key = await signing_key_of(cloud_server)
    # The ad's impression first (free under CPA): a conversion without one is invalid traffic.
    exposure = ad_event(key, event_id="imp-1", seq=1, ad_id="ad-1", pricing_model=CPA, price_micros=700_000)
    result = await ingest.UploadEvents(
        upload(
            exposure,
            conversion(key, "cv-1", 2, "ad-1", "p1"),
            conversion(key, "cv-2", 3, "ad-1", "p2"),
            conversion(key, "cv-3", 4, "ad-1", "p1"),
        )
    )
    assert (result.billed_count, result.recorded_count, result.invalid_count) == (3, 1, 0)
    [c1] = (await admin.GetSpendReport(admin_pb2.GetSpendReportRequest())).campaigns
    assert (c1.conversions, c1.spend_micros) == (2, 1_400_000)


async def test_billed_events_roll_up_per_hour(
    admin: AdminServiceAsyncStub, ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """Impressions, clicks, conversions and spend land in the hourly rollup of their line item and store."""
    await seed(admin)
    key = await signing_key_of(cloud_server)
    await ingest.UploadEvents(
        upload(
            ad_event(key, event_id="i1", seq=1, ad_id="a1"),
            ad_event(key, event_id="i2", seq=2, ad_id="a2"),
            ad_event(key, event_id="c1", seq=3, ad_id="a2", event_type=common_pb2.EVENT_TYPE_CLICK),
        )
    )
    h = schema.hourly_rollups.c
    query = sa.select(h.campaign_id, h.line_item_id, h.store_id, h.impressions, h.clicks, h.conversions, h.spend_micros)
    rows = await cloud_server.store.db.read(lambda conn: [tuple(r) for r in conn.execute(query)])
    assert rows == [("c1", "li1", STORE_ID, 2, 1, 0, 10_000)]
    assert await cloud_server.store.pacing_stats.store_traffic(0) == {STORE_ID: 3}


async def test_dead_letters_are_listed_with_reasons_and_pages(
    admin: AdminServiceAsyncStub, ingest: EventIngestServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """Refused events are listed by AdminService with their reason, a page at a time."""
    await seed(admin)
    forged = [ad_event(b"not-the-store-key", event_id=f"f{i}", seq=i, ad_id=f"a{i}") for i in range(1, 4)]
    foreign = ad_event(await signing_key_of(cloud_server), event_id="x1", seq=4, ad_id="ax", store_id="other-store")
    result = await ingest.UploadEvents(upload(*forged, foreign))
    assert result.rejected_count == 4
    first = await admin.ListDeadLetters(admin_pb2.ListDeadLettersRequest(store_id=STORE_ID, page_size=3))
    rest = await admin.ListDeadLetters(
        admin_pb2.ListDeadLettersRequest(store_id=STORE_ID, page_size=3, page_token=first.next_page_token)
    )
    letters = [*first.dead_letters, *rest.dead_letters]
    assert [d.event_id for d in letters] == ["f1", "f2", "f3", "x1"]
    assert "TOKEN_SIGNATURE" in letters[0].reason
    assert "other-store" in letters[3].reason
    assert letters[0].event_type == common_pb2.EVENT_TYPE_IMPRESSION
    assert not rest.next_page_token


async def test_dead_letters_need_a_store(admin: AdminServiceAsyncStub) -> None:
    """ListDeadLetters without store_id is INVALID_ARGUMENT naming the field."""
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await admin.ListDeadLetters(admin_pb2.ListDeadLettersRequest())
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "store_id" in (error.value.details() or "")


async def test_same_batch_from_two_connections_is_billed_once(
    admin: AdminServiceAsyncStub, cloud_server: CloudServer
) -> None:
    """The same batch uploaded concurrently over two connections bills each event once."""
    await seed(admin)
    key = await signing_key_of(cloud_server)
    batch = upload(*(ad_event(key, event_id=f"e{i}", seq=i, ad_id=f"a{i}") for i in range(1, 201)))
    options = [("grpc.use_local_subchannel_pool", 1)]
    token = await cloud_server.mint_token(Role.EDGE, store_id=STORE_ID)
    channels = [aio_channel(f"127.0.0.1:{cloud_server.port}", token, options=options) for _ in range(2)]
    try:
        stubs = [event_ingest_pb2_grpc.EventIngestServiceStub(c) for c in channels]
        results = await asyncio.gather(*(stub.UploadEvents(batch) for stub in stubs for _ in range(3)))
    finally:
        for channel in channels:
            await channel.close(None)
    assert sum(r.billed_count for r in results) == 200
    assert all(r.acknowledged_seq == 200 for r in results)
    report = await admin.GetSpendReport(admin_pb2.GetSpendReportRequest())
    assert report.campaigns[0].impressions == 200


async def test_dedupe_survives_a_cloud_restart(db_url: str) -> None:
    """A batch resent after the cloud restarted on the same database is not billed again."""
    config = CloudConfig(db=db_url, listen_address="127.0.0.1:0")
    batch: event_ingest_pb2.UploadEventsRequest | None = None
    billed = []
    for _ in range(2):
        cloud = await start_cloud(config)
        address = f"127.0.0.1:{cloud.port}"
        channel = aio_channel(address, await cloud.mint_token(Role.ADMIN))
        edge = aio_channel(address, await cloud.mint_token(Role.EDGE, store_id=STORE_ID))
        try:
            if batch is None:
                await seed(admin_pb2_grpc.AdminServiceStub(channel))
                key = await signing_key_of(cloud)
                batch = upload(*(ad_event(key, event_id=f"e{i}", seq=i, ad_id=f"a{i}") for i in range(1, 11)))
            result = await event_ingest_pb2_grpc.EventIngestServiceStub(edge).UploadEvents(batch)
            billed.append(result.billed_count)
        finally:
            await channel.close(None)
            await edge.close(None)
            await cloud.stop(grace_s=0.1)
    assert billed == [10, 0]


async def test_admin_cli_lists_dead_letters(
    admin: AdminServiceAsyncStub,
    ingest: EventIngestServiceAsyncStub,
    cloud_server: CloudServer,
    admin_token: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`cartads-admin dead-letters list --store` prints each refused event with its reason."""
    await seed(admin)
    await ingest.UploadEvents(upload(ad_event(b"forged-key", event_id="f1", seq=1, ad_id="a1")))
    assert await run_admin_cli(cloud_server, admin_token, "dead-letters", "list", "--store", STORE_ID) == 0
    out = capsys.readouterr().out
    assert "f1" in out
    assert "TOKEN_SIGNATURE" in out
    assert "impression=1" in out
