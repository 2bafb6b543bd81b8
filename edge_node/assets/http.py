"""The edge's asset server: carts fetch creative images over HTTP by content hash (aiohttp).

A hash names one immutable byte string, so answers may be cached for a year and revalidated by
ETag alone; an unknown hash is an immediate 404 (never a wait for the cloud).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

from aiohttp import web

from edge_node.assets.store import AssetStore

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
CACHE_CONTROL = "public, max-age=31536000, immutable"


@dataclass
class AssetHttpServer:
    """A running asset server; ``base_url`` is http://host:port as bound."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()


def _etag_matches(header: str, etag: str) -> bool:
    return any(part.strip() in (etag, f"W/{etag}", "*") for part in header.split(","))


def asset_app(store: AssetStore) -> web.Application:
    """GET/HEAD /assets/<sha256>: the bytes with their type, a year of caching and an ETag."""

    async def get_asset(request: web.Request) -> web.StreamResponse:
        sha = request.match_info["sha256"]
        if not _SHA256_RE.fullmatch(sha):
            return web.Response(status=404, text="not an asset name\n")
        # One LMDB read (microseconds): cheaper than a hop to a worker thread.
        asset = store.get(sha)
        if asset is None:
            return web.Response(status=404, text="no such asset\n")
        etag = f'"{sha}"'
        headers = {
            "Cache-Control": CACHE_CONTROL,
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
            # An SVG opened on its own still runs nothing and loads nothing.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        }
        if _etag_matches(request.headers.get("If-None-Match", ""), etag):
            return web.Response(status=304, headers=headers)
        return web.Response(body=asset.data, content_type=asset.content_type, headers=headers)

    app = web.Application()
    app.router.add_get("/assets/{sha256}", get_asset)
    return app


async def start_asset_server(address: str, store: AssetStore, reuse_port: bool = False) -> AssetHttpServer:
    """Serve ``store`` on ``address`` ("host:port", port 0 picks one); ``reuse_port`` for worker processes."""
    runner = web.AppRunner(asset_app(store), access_log=None)
    await runner.setup()
    host, _, port_text = address.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, int(port_text)))
        await web.SockSite(runner, sock).start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    return AssetHttpServer(runner, host, int(sock.getsockname()[1]))
