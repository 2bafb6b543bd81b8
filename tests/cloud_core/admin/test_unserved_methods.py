"""Methods and filters the contract has before this cloud serves them answer plainly, never as if served."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cartads.rpc.bearer import aio_channel
from cartads.v1 import admin_pb2, admin_pb2_grpc, common_pb2
from cloud_core.access.policy import Role
from cloud_core.app.server import CloudServer
from tests.cloud_core.helpers import STORE_ID, violations_of

if TYPE_CHECKING:
    from cartads.v1.admin_pb2_grpc import AdminServiceAsyncStub


async def test_advertiser_is_refused_before_learning_anything(cloud_server: CloudServer) -> None:
    """An advertiser token asking to enrol a cart is PERMISSION_DENIED, served or not."""
    channel = aio_channel(
        f"127.0.0.1:{cloud_server.port}", await cloud_server.mint_token(Role.ADVERTISER, advertiser_id="acme")
    )
    try:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CreateCart(admin_pb2.CreateCartRequest(cart=admin_pb2.Cart(store_id=STORE_ID, cart_id="c")))
    finally:
        await channel.close(None)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_report_filtered_by_an_unknown_rule_is_refused(admin: AdminServiceAsyncStub) -> None:
    """A report filtered by a rule number no rule has is INVALID_ARGUMENT on the filter, never an unfiltered report."""
    request = admin_pb2.RunReportRequest(
        start_time=Timestamp(seconds=1_700_000_000),
        end_time=Timestamp(seconds=1_700_003_600),
        invalid_traffic_rules=[common_pb2.INVALID_TRAFFIC_RULE_TOO_FAST, 999],  # type: ignore[list-item]
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.RunReport(request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations_of(err.value)) == {"invalid_traffic_rules[1]"}


async def test_report_by_rule_and_creative_is_refused(admin: AdminServiceAsyncStub) -> None:
    """Invalid events are not counted per creative: a report by rule and creative is INVALID_ARGUMENT, not empty."""
    request = admin_pb2.RunReportRequest(
        start_time=Timestamp(seconds=1_700_000_000),
        end_time=Timestamp(seconds=1_700_003_600),
        dimensions=[admin_pb2.REPORT_DIMENSION_INVALID_TRAFFIC_RULE, admin_pb2.REPORT_DIMENSION_CREATIVE],
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await admin.RunReport(request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations_of(err.value)) == {"dimensions"}
