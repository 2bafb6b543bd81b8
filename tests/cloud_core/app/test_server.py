"""start_cloud / CloudServer: health, and a stop that can be repeated."""

from __future__ import annotations

from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cloud_core.app.server import SERVICE_NAMES, start_cloud
from cloud_core.config import CloudConfig


async def test_health_serving_then_stop_is_idempotent(tmp_path: Path) -> None:
    """Every cloud service reports SERVING once started, and stopping twice is harmless."""
    cloud = await start_cloud(CloudConfig(db=str(tmp_path / "db" / "c.sqlite3"), listen_address="127.0.0.1:0"))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{cloud.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for name in ("", *SERVICE_NAMES):
                response = await stub.Check(health_pb2.HealthCheckRequest(service=name))
                assert response.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await cloud.stop(grace_s=0.1)
    await cloud.stop(grace_s=0.1)
