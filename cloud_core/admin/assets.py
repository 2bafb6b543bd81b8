"""AdminService.UploadAsset and the per-format creative checks that need the store (assets, catalog)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Protocol

import structlog

from cartads.rpc.errors import Ctx, InvalidArgumentError, maps_errors
from cartads.time_units import now_us
from cartads.v1 import admin_pb2, asset_pb2
from cloud_core.access.auth import scoped_advertiser
from cloud_core.admin.asset_check import MAX_ASSET_BYTES, AssetError, check_asset
from cloud_core.admin.creative_rules import (
    CreativeContext,
    referenced_product_ids,
    validate_creative_format,
    with_defaults,
)
from cloud_core.storage.protocol import AssetStore

log = structlog.get_logger("cloud.assets")


class _AssetAndUploaderStore(AssetStore, Protocol):
    async def add_asset_uploader(self, sha256: str, advertiser_id: str) -> None: ...


class _HasAssetStore(Protocol):
    @property
    def _store(self) -> _AssetAndUploaderStore: ...


async def check_creative(store: AssetStore, creative: admin_pb2.CreativeSpec) -> None:
    """Fill format defaults, then raise InvalidArgumentError naming each field a format rule refuses."""
    with_defaults(creative)
    products = referenced_product_ids(creative)
    sha = creative.image_asset_sha256
    ctx = CreativeContext(
        known_product_ids=await store.known_product_ids(products) if products else frozenset(),
        assets=await store.asset_infos([sha]) if sha else {},
    )
    violations = validate_creative_format(creative, ctx)
    if violations:
        raise InvalidArgumentError(violations)


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


class AssetAdminMixin:
    """Mixed into AdminServicer, whose ``_store`` it reads."""

    @maps_errors
    async def UploadAsset(  # noqa: N802
        self: _HasAssetStore, request: AsyncIterator[admin_pb2.UploadAssetRequest], context: Ctx
    ) -> admin_pb2.UploadAssetResponse:
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
        created = await self._store.put_asset(asset, checked.sanitized, now_us())
        uploader = scoped_advertiser()
        if uploader:
            # An advertiser's creatives may show only assets it uploaded itself (see access_policy).
            await self._store.add_asset_uploader(sha, uploader)
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
