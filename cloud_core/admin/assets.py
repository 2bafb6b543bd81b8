"""AdminService.UploadAsset: an image checked (and an SVG sanitised), then stored by content hash."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import structlog

from cartads.rpc.errors import InvalidArgumentError
from cartads.time_units import dt_to_us
from cartads.v1 import admin_pb2, asset_pb2
from cloud_core.access.auth import scoped_advertiser
from cloud_core.admin.asset_check import MAX_ASSET_BYTES, AssetError, check_asset
from cloud_core.storage.protocol import AccessStore, AssetStore

log = structlog.get_logger("cloud.assets")


async def _read_upload(request: AsyncIterator[admin_pb2.UploadAssetRequest], max_bytes: int) -> tuple[str, bytes]:
    filename, parts, size = "", [], 0
    async for message in request:
        filename = filename or message.filename
        size += len(message.chunk)
        # Refused as soon as it is too big: a huge upload is never held in memory whole.
        if size > max_bytes:
            raise InvalidArgumentError([("chunk", f"the file is larger than the {max_bytes} bytes allowed")])
        parts.append(message.chunk)
    return filename, b"".join(parts)


class AssetAdmin:
    """The asset upload; an advertiser token's uploads are remembered as its own."""

    def __init__(self, assets: AssetStore, access: AccessStore, clock: Callable[[], datetime]) -> None:
        self._assets = assets
        self._access = access
        self._clock = clock

    async def upload(self, request: AsyncIterator[admin_pb2.UploadAssetRequest]) -> admin_pb2.UploadAssetResponse:
        filename, data = await _read_upload(request, MAX_ASSET_BYTES)
        try:
            checked = check_asset(data)
        except AssetError as exc:
            raise InvalidArgumentError([("chunk", f"the file {exc!s}")]) from exc
        sha = hashlib.sha256(checked.data).hexdigest()
        asset = asset_pb2.Asset(
            sha256=sha,
            content_type=checked.content_type,
            width=checked.width,
            height=checked.height,
            data=checked.data,
        )
        created = await self._assets.put_asset(asset, checked.sanitized, dt_to_us(self._clock()))
        uploader = scoped_advertiser()
        if uploader:
            # An advertiser's creatives may show only assets it uploaded itself (``access.policy``).
            await self._access.add_asset_uploader(sha, uploader)
        log.info(
            "asset_uploaded",
            sha256=sha,
            filename=filename,
            content_type=checked.content_type,
            size_bytes=len(checked.data),
            sanitized=checked.sanitized,
            new=created,
        )
        return admin_pb2.UploadAssetResponse(
            asset=asset_pb2.AssetInfo(
                sha256=sha,
                content_type=checked.content_type,
                width=checked.width,
                height=checked.height,
                size_bytes=len(checked.data),
                sanitized=checked.sanitized,
            )
        )
