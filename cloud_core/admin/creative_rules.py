"""Per-format rules for creatives and their images (pure): (field, why) violations, empty when valid.

A sponsored product promotes a product of a store's catalog under a headline; a banner has a
headline and an image or a body; a coupon has its offer text and code; a recipe names at least two
catalog products. Images are uploaded assets named by hash, never outside URLs, because a cart in a
store without internet must still draw every ad it is given.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from cartads.bounds import clip
from cartads.v1 import admin_pb2, asset_pb2, common_pb2

Violation = tuple[str, str]

DEFAULT_CALL_TO_ACTION = "Add to cart"
MIN_RECIPE_PRODUCTS = 2
MAX_RECIPE_PRODUCTS = 12
MAX_TEXT_CHARS = 200
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def is_sha256(value: str) -> bool:
    """A lowercase hex sha256, as assets are named."""
    return bool(_SHA256_RE.fullmatch(value))


@dataclass(frozen=True)
class CreativeContext:
    """What a creative's references resolve to, looked up by the caller."""

    # Of the products the creative names, those in some store's catalog.
    known_product_ids: Collection[str] = frozenset()
    # The uploaded asset named by image_asset_sha256, when it exists.
    assets: Mapping[str, asset_pb2.AssetInfo] = field(default_factory=dict)


def referenced_product_ids(creative: admin_pb2.CreativeSpec) -> list[str]:
    """The catalog products a creative names (its promoted product and a recipe's products)."""
    ids = list(creative.recipe_product_ids)
    if creative.promoted_product_id:
        ids.append(creative.promoted_product_id)
    return ids


def with_defaults(creative: admin_pb2.CreativeSpec) -> None:
    """Fill what a format implies when the operator left it empty (a sponsored product's button)."""
    if creative.format == common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT and not creative.call_to_action:
        creative.call_to_action = DEFAULT_CALL_TO_ACTION


def _required(creative: admin_pb2.CreativeSpec, names: tuple[str, ...], prefix: str, what: str) -> list[Violation]:
    return [(f"{prefix}.{name}", f"is required for {what}") for name in names if not getattr(creative, name).strip()]


def _check_image(creative: admin_pb2.CreativeSpec, ctx: CreativeContext, prefix: str) -> list[Violation]:
    out: list[Violation] = []
    if creative.image_url:
        out.append(
            (
                f"{prefix}.image_url",
                "outside image URLs are not shown on carts (stores may be offline); "
                "upload the image and set image_asset_sha256",
            )
        )
    sha = creative.image_asset_sha256
    if sha:
        if not is_sha256(sha):
            out.append((f"{prefix}.image_asset_sha256", "must be a lowercase hex sha256 of an uploaded asset"))
        elif sha not in ctx.assets:
            out.append((f"{prefix}.image_asset_sha256", f"asset {sha} was not uploaded"))
    return out


def _check_product(product_id: str, ctx: CreativeContext, field_name: str) -> list[Violation]:
    if product_id not in ctx.known_product_ids:
        return [(field_name, f"product {clip(product_id)!r} is not in any store's catalog")]
    return []


def validate_creative_format(
    creative: admin_pb2.CreativeSpec, ctx: CreativeContext, prefix: str = "creative"
) -> list[Violation]:
    """Each format's required fields, its products in the catalogs and its image uploaded."""
    out: list[Violation] = []
    fmt = creative.format
    for name in ("headline", "body", "call_to_action", "offer_text", "coupon_code"):
        if len(getattr(creative, name)) > MAX_TEXT_CHARS:
            out.append((f"{prefix}.{name}", f"must be at most {MAX_TEXT_CHARS} characters"))
    if fmt == common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT:
        out += _required(creative, ("headline", "call_to_action"), prefix, "a sponsored product")
        if creative.promoted_product_id:
            out += _check_product(creative.promoted_product_id, ctx, f"{prefix}.promoted_product_id")
    elif fmt == common_pb2.CREATIVE_FORMAT_BANNER:
        out += _required(creative, ("headline",), prefix, "a banner")
        if not (creative.image_asset_sha256 or creative.body.strip()):
            out.append((f"{prefix}.image_asset_sha256", "a banner needs an image or a body"))
    elif fmt == common_pb2.CREATIVE_FORMAT_COUPON:
        out += _required(creative, ("offer_text", "coupon_code"), prefix, "a coupon")
    elif fmt == common_pb2.CREATIVE_FORMAT_RECIPE:
        out += _required(creative, ("headline",), prefix, "a recipe")
        ids = list(creative.recipe_product_ids)
        if not MIN_RECIPE_PRODUCTS <= len(ids) <= MAX_RECIPE_PRODUCTS:
            out.append(
                (
                    f"{prefix}.recipe_product_ids",
                    f"a recipe needs {MIN_RECIPE_PRODUCTS} to {MAX_RECIPE_PRODUCTS} products, got {len(ids)}",
                )
            )
        if len(set(ids)) != len(ids):
            out.append((f"{prefix}.recipe_product_ids", "must not repeat a product"))
        for i, product_id in enumerate(ids):
            out += _check_product(product_id, ctx, f"{prefix}.recipe_product_ids[{i}]")
    if fmt != common_pb2.CREATIVE_FORMAT_RECIPE and creative.recipe_product_ids:
        out.append((f"{prefix}.recipe_product_ids", "only a recipe lists products"))
    out += _check_image(creative, ctx, prefix)
    return out


# ---- creative review ----

MAX_REVIEW_REASON_CHARS = 500
# The fields a review never looked at: renaming a creative does not send it back to review.
_NOT_REVIEWED = ("display_name", "create_time", "review_status", "review_reason", "review_time", "reviewed_by")


def shown_content_changed(before: admin_pb2.CreativeSpec, after: admin_pb2.CreativeSpec) -> bool:
    """Whether an edit changes what a cart would show (anything but the name and the review itself)."""
    a, b = admin_pb2.CreativeSpec(), admin_pb2.CreativeSpec()
    a.CopyFrom(before)
    b.CopyFrom(after)
    for name in _NOT_REVIEWED:
        a.ClearField(name)
        b.ClearField(name)
    return a.SerializeToString(deterministic=True) != b.SerializeToString(deterministic=True)


def check_reject_reason(reason: str, field_name: str = "reason") -> list[Violation]:
    """A rejection says why, in words the advertiser can act on."""
    if not reason.strip():
        return [(field_name, "is required: the advertiser is shown why the creative was rejected")]
    if len(reason) > MAX_REVIEW_REASON_CHARS:
        return [(field_name, f"must be at most {MAX_REVIEW_REASON_CHARS} characters")]
    return []
