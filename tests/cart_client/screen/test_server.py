"""The screen server without a browser: page messages, the WebSocket protocol and the page's headers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from cart_client.screen.server import PageMessageError, parse_page_message
from cart_client.sensors.trace import Checkout, Scan, SensorEvent, Weight, Zone
from cart_client.trip.policy import RequestPolicyConfig
from cartads.v1 import common_pb2
from tests.cart_client.live_cart import LiveCart, live_cart
from tests.eventually import eventually


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("nope", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"type":"dance","ad_id":"a"}', "type:"),
        ('{"type":"tap"}', "ad_id:"),
        ('{"type":"tap","ad_id":""}', "ad_id:"),
        ('{"type":"viewable","ad_id":"a","visible_ms":"1000"}', "visible_ms:"),
        ('{"type":"viewable","ad_id":"a","visible_ms":-1}', "visible_ms:"),
    ],
)
def test_bad_page_messages_name_the_field(text: str, field: str) -> None:
    """Each malformed page message is refused with a message naming what is wrong."""
    with pytest.raises(PageMessageError, match=field):
        parse_page_message(text)


def test_good_page_messages_parse() -> None:
    """Taps and viewability reports parse to (kind, ad id, visible ms)."""
    assert parse_page_message('{"type":"tap","ad_id":"a1"}') == ("tap", "a1", 0)
    assert parse_page_message('{"type":"viewable","ad_id":"a1","visible_ms":1004}') == ("viewable", "a1", 1004)


async def shopped(cart: LiveCart) -> None:
    await cart.session.sensor(Zone("zone-24"), 0)
    await cart.session.sensor(Scan("24852"), 4_000)
    await cart.session.sensor(Weight(121.0), 5_000)


async def test_websocket_pushes_state_and_turns_page_reports_into_events(tmp_path: Path) -> None:
    """State comes first; a short view earns nothing, one second earns the impression, a tap the click."""
    async with live_cart(tmp_path) as cart, aiohttp.ClientSession() as http:
        await shopped(cart)
        async with http.ws_connect(f"{cart.screen.url}ws") as ws:
            state = json.loads((await ws.receive()).data)
            assert state["type"] == "state"
            assert state["total_text"] == "$0.29"
            ad_id = state["slots"][0]["ad"]["ad_id"]
            await ws.send_str(json.dumps({"type": "viewable", "ad_id": ad_id, "visible_ms": 400}))
            await ws.send_str(json.dumps({"type": "viewable", "ad_id": ad_id, "visible_ms": 1_000}))
            await ws.send_str(json.dumps({"type": "tap", "ad_id": ad_id}))
            await ws.send_str("garbage")
            while (reply := json.loads((await ws.receive()).data))["type"] != "error":
                pass
            assert "not valid JSON" in reply["error"]
        await eventually(lambda: len(cart.fake.journaled(common_pb2.EVENT_TYPE_CLICK)) == 1, timeout_s=10.0)
        (impression,) = cart.fake.journaled(common_pb2.EVENT_TYPE_IMPRESSION)
        assert (impression.ad_id, impression.visible_duration_ms) == (ad_id, 1_000)
        assert cart.screen.page_messages_rejected == 1


async def test_page_is_served_with_a_policy_that_blocks_the_internet(tmp_path: Path) -> None:
    """The page and its files come from the cart, under a CSP that allows only the cart's own origin."""
    async with live_cart(tmp_path) as cart, aiohttp.ClientSession() as http:
        async with http.get(cart.screen.url) as response:
            assert response.status == 200
            csp = response.headers["Content-Security-Policy"]
            page = await response.text()
        for asset in ("/static/app.js", "/static/style.css"):
            async with http.get(f"{cart.screen.url.rstrip('/')}{asset}") as response:
                assert response.status == 200
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "://" not in page  # no absolute URL anywhere: everything is the cart's own


async def test_live_run_fires_the_dwell_on_the_wall_clock_and_ends_at_checkout(tmp_path: Path) -> None:
    """CartScreen.run asks ZONE_ENTER once the cart has dwelt, with no further reading, and stops at checkout."""
    async with live_cart(tmp_path) as cart:
        cart.session.trip.policy.config = RequestPolicyConfig(min_interval_ms=0, zone_dwell_ms=150)
        requests = cart.fake.get_ads_requests
        checkout = asyncio.Event()

        async def sensors() -> AsyncIterator[SensorEvent]:
            yield Zone("zone-24")
            await checkout.wait()
            yield Checkout()

        runner = asyncio.create_task(cart.screen.run(sensors()))
        await eventually(lambda: any(r.trigger == common_pb2.TRIGGER_ZONE_ENTER for r in requests), timeout_s=10.0)
        checkout.set()
        await asyncio.wait_for(runner, 10)
    assert [r.trigger for r in requests] == [
        common_pb2.TRIGGER_SESSION_START,
        common_pb2.TRIGGER_ZONE_ENTER,
        common_pb2.TRIGGER_CHECKOUT,
    ]
    assert requests[1].zone_id == "zone-24"
