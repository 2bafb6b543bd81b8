"""What generic gRPC tools see: reflection, health, and field-named errors for bad input."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from cartads.rpc.errors import field_violations
from cartads.v1 import ad_service_pb2, admin_pb2
from tests.integration.whole_loop import Loop


def _blocking_services(address: str) -> set[str]:
    with grpc.insecure_channel(address) as channel:
        return set(ProtoReflectionDescriptorDatabase(channel).get_services())


async def _services(address: str) -> set[str]:
    """The reflection client is synchronous: run it off the loop that serves both servers."""
    return await asyncio.to_thread(_blocking_services, address)


async def test_reflection_lists_every_service(loop: Loop) -> None:
    """Reflection on the cloud and the edge lists their CartAds services and health."""
    cloud = await _services(f"127.0.0.1:{loop.cloud.port}")
    edge = await _services(f"127.0.0.1:{loop.edge.port}")
    assert {
        "cartads.v1.AdminService",
        "cartads.v1.IndexSyncService",
        "cartads.v1.EventIngestService",
        "grpc.health.v1.Health",
    } <= cloud
    assert {"cartads.v1.AdService", "grpc.health.v1.Health"} <= edge


async def test_health_reports_serving(loop: Loop) -> None:
    """Both servers answer the standard health check with SERVING once ready."""
    for port in (loop.cloud.port, loop.edge.port):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            answer = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


async def _expect(call: object, code: grpc.StatusCode) -> list[str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == code
    return [field for field, _ in field_violations(caught.value)]


async def test_get_ads_without_store_names_the_field(loop: Loop) -> None:
    """GetAds with no store_id is INVALID_ARGUMENT with a store_id field violation."""
    fields = await _expect(loop.ads.GetAds(ad_service_pb2.GetAdsRequest(cart_id="c")), grpc.StatusCode.INVALID_ARGUMENT)
    assert "store_id" in fields


async def test_get_ads_without_credential_names_the_field(loop: Loop) -> None:
    """GetAds with no cart (no cart_id, no cart_credential) is UNAUTHENTICATED naming cart_credential."""
    fields = await _expect(
        loop.ads.GetAds(ad_service_pb2.GetAdsRequest(store_id="store-1")), grpc.StatusCode.UNAUTHENTICATED
    )
    assert fields == ["cart_credential"]


async def test_admin_rejects_a_campaign_without_budget(loop: Loop) -> None:
    """CreateCampaign with no budget is INVALID_ARGUMENT naming campaign.budget_micros."""
    fields = await _expect(
        loop.admin.CreateCampaign(
            admin_pb2.CreateCampaignRequest(
                campaign=admin_pb2.Campaign(advertiser_id="adv-house", display_name="no budget")
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert "campaign.budget_micros" in fields


async def test_admin_unknown_advertiser_is_not_found(loop: Loop) -> None:
    """GetAdvertiser for an id that does not exist is NOT_FOUND."""
    await _expect(
        loop.admin.GetAdvertiser(admin_pb2.GetAdvertiserRequest(advertiser_id="nope")), grpc.StatusCode.NOT_FOUND
    )
