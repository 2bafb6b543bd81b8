"""``cartads-sim --replay --sensor-bus``: simulated carts driven through the MQTT bus end to end."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from cart_client.sim.cli import main
from cartads.v1 import common_pb2
from tests.cart_client.bus.brokers import require_shared_broker
from tests.cart_client.fakes import FakeAdService
from tests.cart_client.grpc_fake import fake_edge


async def _replay(trips: Path, capsys: pytest.CaptureFixture[str], *bus: str) -> tuple[dict[str, int], FakeAdService]:
    fake = FakeAdService()
    async with fake_edge(fake) as edge:
        args = ["--replay", str(trips), "--edge", edge.address, "--store", "store-sim-bus", "--json"]
        args += ["--carts", "2", "--deadline-ms", "1000", "--dwell-ms", "0", *bus]
        code = await asyncio.to_thread(main, args)
    assert code == 0
    return json.loads(capsys.readouterr().out), fake


async def test_the_simulator_drives_its_carts_through_the_bus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same trips replayed on the bus put the same products in each trip's basket as from JSON Lines."""
    require_shared_broker()
    assert main(["--orders", "3", "--seed", "4", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    lines_stats, from_lines = await _replay(tmp_path, capsys)
    bus_stats, from_bus = await _replay(tmp_path, capsys, "--sensor-bus", "mqtt://127.0.0.1:1883/cartads-test")

    def baskets(fake: FakeAdService) -> Counter[tuple[str, str]]:
        return Counter((e.session_id, e.product_id) for e in fake.journaled(common_pb2.EVENT_TYPE_BASKET_ADD))

    assert baskets(from_bus) == baskets(from_lines)
    assert bus_stats["basket_adds"] == lines_stats["basket_adds"] > 0
    assert bus_stats["trips"] == 3
