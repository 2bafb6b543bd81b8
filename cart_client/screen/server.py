"""The cart's touchscreen: a local web page (aiohttp, plain HTML/CSS/JS) fed live over a WebSocket.

The server pushes the whole screen state (basket, total, mismatches, slots) whenever it changes.
The page reports back three things: an ad it put on screen, which becomes the ad play; a tap on an
ad, which becomes a click; and an ad that was at least 50% visible for one continuous second,
measured in the page with IntersectionObserver, which becomes the (viewable) impression. The
server never guesses viewability itself. Nothing on the page comes from the internet: the
Content-Security-Policy allows only the cart's own origin.

``CartScreen.run`` is the live cart: sensor readings from a feed, timers (dwell, idle, overdue
scans) on the wall clock, and a background sender that drains the outbox, retrying with backoff
while the edge is away. Another background task asks the edge once for the store's name and its
zones' names (GetStoreInfo) for the header, retrying while the edge is away; until it answers the
header shows the catalog's aisle names.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections.abc import AsyncIterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import grpc
import structlog
from aiohttp import WSMsgType, web

from cart_client.app.credential import CredentialRefusedError
from cart_client.app.session import CartSession, StoreInfoClient
from cart_client.screen.asset_proxy import AssetProxy
from cart_client.screen.state import screen_state
from cart_client.sensors.trace import SensorEvent
from cart_client.trip.catalog import zone_label
from cart_client.trip.core import AdFormat, SlotSpec
from cartads.v1 import ad_service_pb2

# The screen has room for four creatives, one per format, in a scrolling rail.
SCREEN_SLOTS: tuple[SlotSpec, ...] = (
    SlotSpec("slot-0", AdFormat.SPONSORED_PRODUCT),
    SlotSpec("slot-1", AdFormat.BANNER),
    SlotSpec("slot-2", AdFormat.COUPON),
    SlotSpec("slot-3", AdFormat.RECIPE),
)
_MAX_AD_ID_CHARS = 256
# GetStoreInfo answers worth asking again: the edge is away, slow, or holds no index yet.
_RETRY_STORE_INFO = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}
)
_MAX_VISIBLE_MS = 24 * 3600 * 1000
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _log() -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger("cart_client.screen")  # type: ignore[no-any-return]


def static_dir() -> Path:
    """The page's files, shipped inside the package."""
    return Path(str(resources.files("cart_client.screen") / "static"))


@dataclass(frozen=True, slots=True)
class ScreenConfig:
    """Where the screen listens and how patiently it retries the edge."""

    host: str = "127.0.0.1"
    port: int = 0
    # Shown in the header instead of the name the edge gives (GetStoreInfo); "" uses the edge's.
    store_name: str = ""
    retry_min_s: float = 0.2
    retry_max_s: float = 5.0


class PageMessageError(ValueError):
    """A message from the page that the cart cannot act on."""


def parse_page_message(text: str) -> tuple[str, str, int]:
    """(kind, ad_id, visible_ms) of a page message; raises PageMessageError naming the field."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PageMessageError(f"not valid JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise PageMessageError("expected a JSON object")
    kind = obj.get("type")
    if kind not in ("viewable", "tap", "render"):
        raise PageMessageError(f"type: must be 'viewable', 'tap' or 'render', got {kind!r}")
    ad_id = obj.get("ad_id")
    if not isinstance(ad_id, str) or not ad_id or len(ad_id) > _MAX_AD_ID_CHARS:
        raise PageMessageError(f"ad_id: must be a non-empty string of at most {_MAX_AD_ID_CHARS} characters")
    visible_ms = obj.get("visible_ms", 0)
    if kind == "viewable" and (
        isinstance(visible_ms, bool) or not isinstance(visible_ms, int) or not 0 <= visible_ms <= _MAX_VISIBLE_MS
    ):
        raise PageMessageError("visible_ms: must be an integer number of milliseconds")
    return kind, ad_id, int(visible_ms)


class CartScreen:
    """Serves one cart's screen and runs its trip live."""

    def __init__(
        self, session: CartSession, config: ScreenConfig | None = None, store_info: StoreInfoClient | None = None
    ) -> None:
        self.session = session
        self.config = config or ScreenConfig()
        # Who to ask for the store's name and zones (the edge); None asks nobody.
        self._store_info = store_info
        self.store_name = ""
        self.zone_names: dict[str, str] = {}
        self.page_messages_rejected = 0
        self._started = time.monotonic()
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self._changed = asyncio.Event()
        self._send_now = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        # The queue ``run`` waits on while a trip runs, so a dead sender can wake it.
        self._wake_run: asyncio.Queue[SensorEvent | None] | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        self.assets = AssetProxy()
        session.on_change = self._changed.set
        session.on_queued = self._send_now.set

    @property
    def port(self) -> int:
        """The page's port (after start)."""
        return self._port

    @property
    def url(self) -> str:
        """Where a browser opens the screen."""
        return f"http://{self.config.host}:{self._port}/"

    def trip_ms(self) -> int:
        """The live trip clock: milliseconds since the screen started."""
        return int((time.monotonic() - self._started) * 1000)

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve the page and start pushing state and sending events."""
        app = web.Application(middlewares=[_security_headers])
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/assets/{sha256}", self._asset)
        app.router.add_static("/static/", static_dir(), append_version=False)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self._tasks = [asyncio.create_task(self._push_state()), asyncio.create_task(self._send_events())]
        if self._store_info is not None:
            self._tasks.append(asyncio.create_task(self._learn_store(self._store_info)))
        self._send_now.set()  # events a previous run left in the outbox go first

    async def stop(self) -> None:
        """Stop serving; events still queued stay in the outbox for the next start."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            # A sender that died already raised its error from ``run``; stopping still closes everything.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.assets.close()

    async def run(self, feed: AsyncIterable[SensorEvent]) -> None:
        """Run the trip on live sensor readings until the feed ends or the shopper checks out."""
        queue: asyncio.Queue[SensorEvent | None] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for event in feed:
                    await queue.put(event)
            finally:
                await queue.put(None)

        pump_task = asyncio.create_task(pump())
        self._wake_run = queue
        try:
            while not self.session.trip.checked_out:
                self._raise_if_sender_failed()
                deadline = self.session.trip.next_deadline_ms()
                timeout_s = None if deadline is None else max(0.0, (deadline - self.trip_ms()) / 1000)
                try:
                    event = await asyncio.wait_for(queue.get(), timeout_s)
                except TimeoutError:
                    await self.session.advance_to(self.trip_ms())
                    continue
                if event is None:
                    break
                await self.session.sensor(event, self.trip_ms())
            self._raise_if_sender_failed()
        finally:
            self._wake_run = None
            pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump_task

    def _raise_if_sender_failed(self) -> None:
        # The sender ends only by an error no retry can fix (a refused cart credential): the trip stops
        # with it rather than keep its events queued forever behind a dead task.
        sender = self._tasks[1] if len(self._tasks) > 1 else None
        if sender is not None and sender.done() and not sender.cancelled():
            error = sender.exception()
            if error is not None:
                raise error

    async def drained(self, timeout_s: float) -> bool:
        """Wait until the outbox is empty (the edge acknowledged everything), up to ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self.session.outbox.depth() > 0:
            self._raise_if_sender_failed()
            if time.monotonic() > deadline:
                return False
            self._send_now.set()
            await asyncio.sleep(0.05)  # the sender owns the edge connection; we only watch the outbox
        return True

    # --- background work -----------------------------------------------------------------------------

    async def _push_state(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            message = json.dumps(self.state())
            for ws in list(self._sockets):
                if not ws.closed:
                    with contextlib.suppress(ConnectionError):
                        await ws.send_str(message)

    async def _send_events(self) -> None:
        try:
            await self._send_events_forever()
        except Exception:
            # Ended by an error no retry can fix: wake ``run``, which raises it.
            if self._wake_run is not None:
                self._wake_run.put_nowait(None)
            raise

    async def _send_events_forever(self) -> None:
        delay_s = self.config.retry_min_s
        while True:
            self._send_now.clear()
            was_reachable = self.session.edge_reachable
            delivered = await self.session.flush()
            if delivered:
                delay_s = self.config.retry_min_s
                self.session.edge_reachable = True
                if not was_reachable:
                    self._changed.set()
                await self._send_now.wait()
                continue
            if was_reachable:
                self.session.edge_reachable = False
                self._changed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._send_now.wait(), delay_s)
            delay_s = min(delay_s * 2, self.config.retry_max_s)

    async def _learn_store(self, client: StoreInfoClient) -> None:
        trip = self.session.trip
        request = ad_service_pb2.GetStoreInfoRequest(store_id=trip.store_id, cart_id=trip.cart_id)
        delay_s = self.config.retry_min_s
        while True:
            try:
                answer = await client.GetStoreInfo(request, timeout=self.config.retry_max_s)
                break
            except CredentialRefusedError:
                return  # the sender meets the same refusal and stops the trip with it
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in _RETRY_STORE_INFO:
                    # An edge without GetStoreInfo, or one that refuses: the header keeps the catalog's names.
                    _log().warning("store_info_unavailable", code=exc.code().name, details=exc.details())
                    return
            await asyncio.sleep(delay_s)  # the edge is away or has no index yet: ask again later
            delay_s = min(delay_s * 2, self.config.retry_max_s)
        self.store_name = answer.display_name
        self.zone_names = {z.zone_id: zone_label(z.aisle_id, z.display_name) for z in answer.zones}
        self._changed.set()

    def state(self) -> dict[str, Any]:
        """The screen state the page draws."""
        return screen_state(
            self.session.trip,
            edge_reachable=self.session.edge_reachable,
            store_name=self.config.store_name or self.store_name,
            zone_names=self.zone_names,
        )

    # --- HTTP -------------------------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(static_dir() / "index.html", headers={"Cache-Control": "no-cache"})

    async def _asset(self, request: web.Request) -> web.Response:
        # Only images of ads this cart was given, fetched from the edge URL each came with.
        sha = request.match_info["sha256"]
        asset = self.assets.cached(sha)
        if asset is None:
            ad = next((a for a in self.session.trip.screen.values() if a.image_asset_sha256 == sha), None)
            asset = await self.assets.get(sha, ad.image_url) if ad is not None else None
        if asset is None:
            return web.Response(status=404, text="no such image\n")
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "ETag": f'"{sha}"'}
        if request.headers.get("If-None-Match") == f'"{sha}"':
            return web.Response(status=304, headers=headers)
        return web.Response(body=asset.data, content_type=asset.content_type, headers=headers)

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "outbox_depth": self.session.outbox.depth()})

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=10.0, max_msg_size=16 * 1024)
        await ws.prepare(request)
        self._sockets.add(ws)
        await ws.send_str(json.dumps(self.state()))
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                kind, ad_id, visible_ms = parse_page_message(message.data)
            except PageMessageError as exc:
                self.page_messages_rejected += 1
                await ws.send_str(json.dumps({"type": "error", "error": str(exc)}))
                continue
            if kind == "tap":
                accepted = await self.session.tapped(ad_id, self.trip_ms())
            elif kind == "render":
                accepted = await self.session.played(ad_id, self.trip_ms())
            else:
                accepted = await self.session.viewed(ad_id, visible_ms, self.trip_ms())
            _log().info("page_event", kind=kind, ad_id=ad_id, accepted=accepted, visible_ms=visible_ms)
        return ws


@web.middleware
async def _security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


__all__ = ["SCREEN_SLOTS", "CartScreen", "PageMessageError", "ScreenConfig", "parse_page_message", "static_dir"]
