"""AdminService's creatives (create, get, list, update, delete, with the per-format checks that read the
catalog and the uploaded assets) and the images they show (UploadAsset: checked, an SVG sanitised, then
stored by content hash)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import structlog

from cartads import bounds
from cartads.rpc.errors import InvalidArgumentError, PermissionDeniedError
from cartads.time_units import dt_to_ts, dt_to_us
from cartads.v1 import admin_pb2, asset_pb2
from cloud_core.access.auth import current_principal, scoped_advertiser
from cloud_core.admin import validation as v
from cloud_core.admin.asset_check import MAX_ASSET_BYTES, AssetError, check_asset
from cloud_core.admin.creative_rules import (
    CreativeContext,
    check_reject_reason,
    referenced_product_ids,
    shown_content_changed,
    validate_creative_format,
    with_defaults,
)
from cloud_core.admin.pagination import decode_request, next_token
from cloud_core.admin.request_checks import choose_id, existing, merge, raise_if
from cloud_core.storage.protocol import AccessStore, AdvertiserStore, AssetStore, CampaignStore
from cloud_core.sync.notifier import ChangeNotifier

log = structlog.get_logger("cloud.assets")


async def check_creative(assets: AssetStore, creative: admin_pb2.CreativeSpec) -> None:
    """Fill format defaults, then raise InvalidArgumentError naming each field a format rule refuses."""
    with_defaults(creative)
    products = referenced_product_ids(creative)
    sha = creative.image_asset_sha256
    ctx = CreativeContext(
        known_product_ids=await assets.known_product_ids(products) if products else frozenset(),
        assets=await assets.asset_infos([sha]) if sha else {},
    )
    raise_if(validate_creative_format(creative, ctx))


class CreativeAdmin:
    """The creative methods; an advertiser token may show only assets it uploaded itself."""

    def __init__(
        self,
        *,
        campaigns: CampaignStore,
        advertisers: AdvertiserStore,
        assets: AssetStore,
        access: AccessStore,
        notifier: ChangeNotifier,
        clock: Callable[[], datetime],
    ) -> None:
        self._campaigns = campaigns
        self._advertisers = advertisers
        self._assets = assets
        self._access = access
        self._notifier = notifier
        self._clock = clock

    async def create(self, request: admin_pb2.CreateCreativeRequest) -> admin_pb2.CreateCreativeResponse:
        creative = admin_pb2.CreativeSpec()
        creative.CopyFrom(request.creative)
        creative.creative_id = choose_id(request.creative_id, creative.creative_id, "creative_id", "cr")
        raise_if(v.validate_creative(creative))
        await check_creative(self._assets, creative)
        await self._check_asset_uploader(creative.image_asset_sha256, "")
        await existing("advertiser", creative.advertiser_id, "creative.advertiser_id", self._advertisers.get_advertiser)
        creative.create_time.CopyFrom(dt_to_ts(self._clock()))
        # Every new creative waits for an admin's review, whoever made it (the review fields are
        # output only: a caller cannot send one in approved).
        _set_review(creative, admin_pb2.CREATIVE_REVIEW_STATUS_PENDING)
        await self._campaigns.create_creative(creative)
        return admin_pb2.CreateCreativeResponse(creative=creative)

    async def get(self, request: admin_pb2.GetCreativeRequest) -> admin_pb2.GetCreativeResponse:
        return admin_pb2.GetCreativeResponse(creative=await self._creative(request.creative_id))

    async def list_page(self, request: admin_pb2.ListCreativesRequest) -> admin_pb2.ListCreativesResponse:
        query = f"creatives:{request.advertiser_id}"
        page = decode_request(request.page_size, request.page_token, query)
        rows = await self._campaigns.list_creatives(page, request.advertiser_id)
        token = next_token([r.creative_id for r in rows], page.limit, query)
        return admin_pb2.ListCreativesResponse(creatives=rows[: page.limit], next_page_token=token)

    async def update(self, request: admin_pb2.UpdateCreativeRequest) -> admin_pb2.UpdateCreativeResponse:
        current = await self._creative(request.creative.creative_id, "creative.creative_id")
        merged = merge(current, request.creative, request.update_mask, "creative")
        raise_if(v.validate_creative(merged))
        await check_creative(self._assets, merged)
        await self._check_asset_uploader(merged.image_asset_sha256, current.image_asset_sha256)
        rereview = shown_content_changed(current, merged)
        if rereview:
            # What was approved is no longer what would be shown: it goes back to review (re-review).
            _set_review(merged, admin_pb2.CREATIVE_REVIEW_STATUS_PENDING, when=self._clock())
        await self._campaigns.update_creative(merged, review=rereview)
        self._notifier.notify()
        return admin_pb2.UpdateCreativeResponse(creative=merged)

    async def delete(self, request: admin_pb2.DeleteCreativeRequest) -> admin_pb2.DeleteCreativeResponse:
        raise_if(v.check_required_id(request.creative_id, "creative_id"))
        await self._campaigns.delete_creative(request.creative_id)
        return admin_pb2.DeleteCreativeResponse()

    async def approve(self, request: admin_pb2.ApproveCreativeRequest) -> admin_pb2.ApproveCreativeResponse:
        creative = await self._review(request.creative_id, admin_pb2.CREATIVE_REVIEW_STATUS_APPROVED, "")
        return admin_pb2.ApproveCreativeResponse(creative=creative)

    async def reject(self, request: admin_pb2.RejectCreativeRequest) -> admin_pb2.RejectCreativeResponse:
        raise_if(v.check_required_id(request.creative_id, "creative_id") + check_reject_reason(request.reason))
        creative = await self._review(request.creative_id, admin_pb2.CREATIVE_REVIEW_STATUS_REJECTED, request.reason)
        return admin_pb2.RejectCreativeResponse(creative=creative)

    async def _review(
        self, creative_id: str, status: admin_pb2.CreativeReviewStatus, reason: str
    ) -> admin_pb2.CreativeSpec:
        await self._creative(creative_id)  # NOT_FOUND naming creative_id
        principal = current_principal()
        by = principal.token_id if principal else ""
        creative = await self._campaigns.review_creative(creative_id, status, reason, dt_to_us(self._clock()), by)
        # Approving adds the creative to the indexes of its line items' stores; rejecting takes it out.
        self._notifier.notify()
        return creative

    async def _creative(self, creative_id: str, field: str = "creative_id") -> admin_pb2.CreativeSpec:
        return await existing("creative", creative_id, field, self._campaigns.get_creative)

    async def _check_asset_uploader(self, sha256: str, unchanged_sha256: str) -> None:
        """Hashes could be learned elsewhere, so knowing one is no licence to show another's asset."""
        own = scoped_advertiser()
        if own and sha256 and sha256 != unchanged_sha256 and not await self._access.uploaded_by(sha256, own):
            raise PermissionDeniedError(
                f"asset {sha256[:12]}… was not uploaded by advertiser {own!r}; upload it with this token",
                "creative.image_asset_sha256",
            )


def _set_review(
    creative: admin_pb2.CreativeSpec,
    status: admin_pb2.CreativeReviewStatus,
    *,
    reason: str = "",
    when: datetime | None = None,
    by: str = "",
) -> None:
    creative.review_status = status
    creative.review_reason = reason
    creative.reviewed_by = by
    creative.ClearField("review_time")
    if when is not None:
        creative.review_time.CopyFrom(dt_to_ts(when))


async def _read_upload(request: AsyncIterator[admin_pb2.UploadAssetRequest], max_bytes: int) -> tuple[str, bytes]:
    filename, parts, size = "", [], 0
    async for message in request:
        raise_if(bounds.nul_violations(message))
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
