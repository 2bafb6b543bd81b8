"""``cartads-bench cart``: a tiny run reports the bus costs per message and per raw reading (no timing asserted)."""

from __future__ import annotations

import json

import pytest

from cartads.bench.cli import main
from tests.cart_client.bus.brokers import require_shared_broker


def test_cart_bench_reports_the_sensor_bus_costs(capsys: pytest.CaptureFixture[str]) -> None:
    """--json holds the decode and core cost per bus message, per raw reading, and through the broker."""
    require_shared_broker()
    args = ["cart", "--trips", "3", "--rounds", "1", "--appends", "5", "--json"]
    assert main([*args, "--sensor-bus", "mqtt://127.0.0.1:1883", "--broker-trips", "1"]) == 0
    bus = json.loads(capsys.readouterr().out)["bus"]
    assert bus["bus_messages"] > bus["raw_scale_readings"] > 0
    for key in ("bus_decode_us_per_message", "bus_core_us_per_message", "core_us_per_raw_scale_reading"):
        assert bus[key] > 0
    assert bus["broker_messages"] > 0
    assert bus["broker_us_per_message"] > 0
