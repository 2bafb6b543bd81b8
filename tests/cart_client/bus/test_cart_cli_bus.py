"""``cartads-cart --sensor-bus``: a cart process reads its trip from the MQTT bus and reports it."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from cart_client.app.cli import main
from cart_client.bus.mqtt import BusConfig
from cart_client.bus.publisher import BusPublisher
from cart_client.bus.topics import CartTopics
from cart_client.sensors.trace import Checkout, ScaleReading, Scan, SensorEvent, Zone
from cartads.sample.gtins import synthetic_gtin
from cartads.sample.instacart import Catalog, Order
from cartads.v1 import common_pb2
from tests.cart_client.bus.brokers import require_shared_broker
from tests.cart_client.fakes import FakeAdService
from tests.cart_client.grpc_fake import fake_edge


def _trip(sample: tuple[Catalog, list[Order]]) -> tuple[str, list[SensorEvent]]:
    product = next(p for p in sample[0].products if 100 < p.weight_g < 900)
    empty = [ScaleReading(0.1 * (i % 3), 100 + i * 50) for i in range(5)]
    loaded = [ScaleReading(product.weight_g + 0.3 * (i % 3), 2_000 + i * 50) for i in range(5)]
    scan = Scan("", 1_500, code=synthetic_gtin(product.product_id))
    return product.product_id, [Zone("zone-1", 50), *empty, scan, *loaded, Checkout(9_000)]


async def test_a_cart_reads_its_trip_from_the_sensor_bus(
    sample: tuple[Catalog, list[Order]], topics: CartTopics
) -> None:
    """The cart subscribes to its topics, weighs the scanned product on the raw stream, and reports the trip."""
    require_shared_broker()
    product_id, trip = _trip(sample)
    fake = FakeAdService()
    async with fake_edge(fake) as edge:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cart_client.app.cli",
            *("--edge", edge.address, "--store", topics.store_id, "--cart", topics.cart_id, "--json"),
            *("--sensor-bus", "mqtt://127.0.0.1:1883"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            line: dict[str, object] = {}
            while line.get("event") != "sensor_bus_subscribed":
                line = json.loads(await asyncio.wait_for(process.stderr.readline(), 20))
            async with BusPublisher(topics, BusConfig()) as publisher:
                for event in trip:
                    await publisher.publish(event)
            out, err = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err.decode()
    stats = json.loads(out.decode().strip().splitlines()[-1])
    assert stats["basket_adds"] == 1
    assert [e.product_id for e in fake.journaled(common_pb2.EVENT_TYPE_BASKET_ADD)] == [product_id]
    assert len(fake.journaled(common_pb2.EVENT_TYPE_CHECKOUT)) == 1


@pytest.mark.parametrize("url", ["http://127.0.0.1:1883", "mqtt://"])
def test_a_bad_bus_url_is_refused(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--sensor-bus takes mqtt://HOST[:PORT][/PREFIX] only, and says so."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--edge", "127.0.0.1:1", "--store", "s", "--sensor-bus", url])
    assert exit_info.value.code == 2
    assert "expected mqtt://HOST" in capsys.readouterr().err


def test_bus_and_port_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """One live sensor source at a time."""
    code = main(["--edge", "127.0.0.1:1", "--store", "s", "--sensor-bus", "mqtt://h", "--sensor-port", "0"])
    assert code == 2
    assert "not both" in capsys.readouterr().err
