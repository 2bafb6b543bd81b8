"""Applying updates is atomic for requests: GetAds under load while 50 updates land never mixes versions."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import grpc

from cartads.index.delta import compute_delta
from cartads.v1 import ad_service_pb2_grpc
from cartads.v1.ad_service_pb2 import GetAdsRequest
from cartads.v1.common_pb2 import Trigger
from cartads.v1.index_pb2 import CartLimits, StoreIndex
from cartads.v1.index_sync_pb2 import StreamIndexResponse
from edge_node.app.server import start_edge
from tests.cart_credentials import credentialed_channel
from tests.edge_node.helpers import STORE_ID, edge_config, line_item, make_index, version_of
from tests.edge_node.sync_fakes import ScriptedCloud, full_update
from tests.eventually import eventually

UPDATES = 50
CLIENTS = 8
LINE_ITEMS_PER_VERSION = 4


def version_index(k: int) -> StoreIndex:
    """Version k: line items named after k with bids unique to k, so a response shows which index it used."""
    items = [line_item(f"v{k:02d}-li{j}", 1_000_000 + k * 10_000 + j) for j in range(LINE_ITEMS_PER_VERSION)]
    index = make_index(items, {"all": [li.line_item_id for li in items]})
    # Each shopper asks as fast as it can, far over a real cart's rate: the limits are out of the way.
    index.settings.cart_limits.CopyFrom(CartLimits(calls_per_s=1e6, call_burst=1_000_000))
    index.version = version_of(index)
    return index


async def test_get_ads_under_load_never_mixes_versions(
    scripted_cloud: tuple[ScriptedCloud, int], tmp_path: Path
) -> None:
    """50 updates (snapshots and deltas) applied during GetAds load: zero errors, every response one version."""
    cloud, port = scripted_cloud
    versions = [version_index(k) for k in range(UPDATES + 1)]
    prefix_of = {index.version: f"v{k:02d}-" for k, index in enumerate(versions)}
    edge = await start_edge(edge_config(tmp_path, port))
    seen: Counter[str] = Counter()
    errors: list[str] = []
    mixed: list[str] = []
    done = asyncio.Event()
    try:
        stream = await cloud.next_stream()
        await stream.answer()
        stream.send(*full_update(versions[0], "n0"))
        assert not (await stream.answer()).error_detail

        async with credentialed_channel(f"127.0.0.1:{edge.port}") as channel:
            stub = ad_service_pb2_grpc.AdServiceStub(channel)

            async def shopper(cart: int) -> None:
                request_number = 0
                while not done.is_set():
                    request_number += 1
                    request = GetAdsRequest(
                        store_id=STORE_ID,
                        cart_id=f"cart-{cart}",
                        session_id=f"s-{cart}-{request_number}",
                        trigger=Trigger.TRIGGER_SESSION_START,
                        max_ads=3,
                    )
                    try:
                        response = await stub.GetAds(request, timeout=5.0)
                    except grpc.aio.AioRpcError as exc:
                        errors.append(f"{exc.code().name}: {exc.details()}")
                        continue
                    prefix = prefix_of.get(response.index_version)
                    seen[response.index_version] += 1
                    if prefix is None or not response.ads:
                        mixed.append(f"unexpected response {response}")
                    elif any(not ad.line_item_id.startswith(prefix) for ad in response.ads):
                        mixed.append(f"{response.index_version}: {[ad.line_item_id for ad in response.ads]}")

            async def served(version: str) -> None:
                await eventually(lambda: seen[version], what=f"a response from version {version[:12]}")

            shoppers = [asyncio.create_task(shopper(c)) for c in range(CLIENTS)]
            await served(versions[0].version)
            for k in range(1, UPDATES + 1):
                if k % 2:
                    delta = compute_delta(versions[k - 1], versions[k])
                    stream.send(StreamIndexResponse(version=versions[k].version, nonce=f"n{k}", delta=delta))
                else:
                    stream.send(*full_update(versions[k], f"n{k}"))
                answer = await stream.answer()
                assert (answer.version, answer.error_detail) == (versions[k].version, "")
                # Requests run against every version before the next update replaces it.
                await served(versions[k].version)
            done.set()
            await asyncio.gather(*shoppers)
    finally:
        await edge.stop(grace_s=0.2)
    assert errors == []
    assert mixed == []
    assert set(seen) == set(prefix_of)
    assert edge.sync_client.deltas_applied == UPDATES // 2
