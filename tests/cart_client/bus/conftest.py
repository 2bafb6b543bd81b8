"""Fixtures of the sensor bus tests: a unique cart topic tree, and a broker of the test's own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cart_client.bus.topics import CartTopics
from tests.cart_client.bus.brokers import OwnBroker


@pytest.fixture
def topics() -> CartTopics:
    """A topic tree no other test (or earlier run, with its retained messages) uses."""
    return CartTopics("store-bus", f"cart-{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[OwnBroker]:
    """A running mosquitto on a free port, stopped at the end."""
    broker = OwnBroker(tmp_path)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()
