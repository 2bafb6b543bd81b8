"""The cart's copy of the edge's creative images: fetched by hash from the edge, verified, kept.

The page loads images only from the cart's own origin (its Content-Security-Policy allows nothing
else), so the screen server hands it ``/assets/<sha256>`` and fetches those bytes from the edge URL
the ad came with. Bytes are kept only when their sha256 matches, so a wrong or hostile answer is
never shown, and a kept image stays on screen while the edge is away.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/svg+xml"})


@dataclass(frozen=True, slots=True)
class CachedAsset:
    content_type: str
    data: bytes


def is_asset_url(url: str, sha256: str) -> bool:
    """An http(s) URL whose path is ``.../assets/<sha256>``: the only URLs the cart fetches."""
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.path.endswith(f"/assets/{sha256}")
        and bool(_SHA256_RE.fullmatch(sha256))
    )


class AssetProxy:
    """Fetches and keeps (LRU, bounded in bytes) images named by hash."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024, timeout_s: float = 2.0, max_asset_bytes: int = 4 << 20):
        self._max_bytes = max_bytes
        self._max_asset_bytes = max_asset_bytes
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._cache: OrderedDict[str, CachedAsset] = OrderedDict()
        self._bytes = 0
        self._session: aiohttp.ClientSession | None = None
        self._inflight: dict[str, asyncio.Future[CachedAsset | None]] = {}
        self.fetches = 0

    def cached(self, sha256: str) -> CachedAsset | None:
        """The kept image, None when not fetched yet."""
        asset = self._cache.get(sha256)
        if asset is not None:
            self._cache.move_to_end(sha256)
        return asset

    async def get(self, sha256: str, url: str) -> CachedAsset | None:
        """The image from the cache or ``url``; None when it cannot be had (or does not verify)."""
        asset = self.cached(sha256)
        if asset is not None or not is_asset_url(url, sha256):
            return asset
        pending = self._inflight.get(sha256)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[CachedAsset | None] = asyncio.get_running_loop().create_future()
        self._inflight[sha256] = future
        try:
            asset = await self._fetch(sha256, url)
            future.set_result(asset)
            return asset
        except BaseException as exc:
            future.set_result(None)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return None
        finally:
            del self._inflight[sha256]

    async def _fetch(self, sha256: str, url: str) -> CachedAsset | None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        self.fetches += 1
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                if response.status != 200 or response.content_type not in IMAGE_TYPES:
                    return None
                data = await response.content.read(self._max_asset_bytes + 1)
                content_type = response.content_type
        except (aiohttp.ClientError, TimeoutError):
            return None
        if len(data) > self._max_asset_bytes or hashlib.sha256(data).hexdigest() != sha256:
            return None
        asset = CachedAsset(content_type, data)
        self._keep(sha256, asset)
        return asset

    def _keep(self, sha256: str, asset: CachedAsset) -> None:
        self._cache[sha256] = asset
        self._bytes += len(asset.data)
        while self._bytes > self._max_bytes and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._bytes -= len(dropped.data)

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._session is not None:
            await self._session.close()
            self._session = None
