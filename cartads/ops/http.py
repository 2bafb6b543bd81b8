"""The operations endpoint every CartAds server can expose over HTTP (aiohttp):
``/metrics`` (Prometheus text), ``/healthz`` (the process is up) and ``/readyz`` (it can serve)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from aiohttp import web


class CallbackGauges(Collector):
    """Gauges read at scrape time from callables, so hot paths never update metric objects."""

    def __init__(self, gauges: Iterable[tuple[str, str, Callable[[], float]]]) -> None:
        self._gauges = list(gauges)

    def collect(self) -> Iterable[Metric]:
        for name, help_text, read in self._gauges:
            yield GaugeMetricFamily(name, help_text, value=float(read()))


@dataclass
class OpsServer:
    """A running ops endpoint."""

    runner: web.AppRunner
    port: int

    async def stop(self) -> None:
        await self.runner.cleanup()


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


async def start_ops_server(
    address: str, registry: CollectorRegistry, ready: Callable[[], tuple[bool, str]]
) -> OpsServer:
    """Serve /metrics, /healthz and /readyz on ``address`` ("host:port", port 0 picks one)."""
    # Imported here: aiohttp costs ~9 MB per process, and most processes serve no ops endpoint.
    from aiohttp import web

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        is_ready, detail = ready()
        return web.Response(text=f"{detail}\n", status=200 if is_ready else 503)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, port = _split_address(address)
    # Binding the socket here tells us the port when the address asked for port 0.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        site = web.SockSite(runner, sock)
        await site.start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    return OpsServer(runner, int(sock.getsockname()[1]))
