"""Per-format creative rules: each refusal names the field that is wrong."""

from __future__ import annotations

from cartads.v1 import admin_pb2, asset_pb2, common_pb2
from cloud_core.admin.creative_rules import CreativeContext, validate_creative_format, with_defaults

SHA = "ab" * 32
CTX = CreativeContext(
    known_product_ids=frozenset({"1", "2", "3"}),
    assets={SHA: asset_pb2.AssetInfo(sha256=SHA, content_type="image/png", width=64, height=64)},
)


def _fields(spec: admin_pb2.CreativeSpec, ctx: CreativeContext = CTX) -> set[str]:
    return {field for field, _ in validate_creative_format(spec, ctx)}


def test_sponsored_product_needs_a_headline_and_a_catalog_product() -> None:
    """A sponsored product without headline, promoting an unknown product, names both fields."""
    spec = admin_pb2.CreativeSpec(
        format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT, promoted_product_id="999", call_to_action="Add"
    )
    assert _fields(spec) == {"creative.headline", "creative.promoted_product_id"}


def test_sponsored_product_gets_a_default_call_to_action() -> None:
    """An empty call to action of a sponsored product becomes "Add to cart" rather than an error."""
    spec = admin_pb2.CreativeSpec(
        format=common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT, headline="Bananas", promoted_product_id="1"
    )
    with_defaults(spec)
    assert spec.call_to_action == "Add to cart"
    assert _fields(spec) == set()


def test_banner_needs_an_image_or_a_body() -> None:
    """A banner with a headline only is refused on image_asset_sha256."""
    spec = admin_pb2.CreativeSpec(format=common_pb2.CREATIVE_FORMAT_BANNER, headline="Spring sale")
    assert _fields(spec) == {"creative.image_asset_sha256"}
    spec.image_asset_sha256 = SHA
    assert _fields(spec) == set()


def test_coupon_needs_offer_text_and_code() -> None:
    """A coupon without its code names coupon_code."""
    spec = admin_pb2.CreativeSpec(format=common_pb2.CREATIVE_FORMAT_COUPON, offer_text="$1 off")
    assert _fields(spec) == {"creative.coupon_code"}


def test_recipe_needs_two_products_that_exist() -> None:
    """A recipe with one product, or an unknown one, names recipe_product_ids."""
    one = admin_pb2.CreativeSpec(format=common_pb2.CREATIVE_FORMAT_RECIPE, headline="Salad", recipe_product_ids=["1"])
    assert _fields(one) == {"creative.recipe_product_ids"}
    unknown = admin_pb2.CreativeSpec(
        format=common_pb2.CREATIVE_FORMAT_RECIPE, headline="Salad", recipe_product_ids=["1", "404"]
    )
    assert _fields(unknown) == {"creative.recipe_product_ids[1]"}


def test_an_image_that_was_not_uploaded_is_refused() -> None:
    """image_asset_sha256 must name an uploaded asset."""
    spec = admin_pb2.CreativeSpec(format=common_pb2.CREATIVE_FORMAT_BANNER, headline="x", image_asset_sha256="cd" * 32)
    assert _fields(spec) == {"creative.image_asset_sha256"}


def test_an_outside_image_url_is_refused() -> None:
    """Carts never load images from the internet, so image_url is refused."""
    spec = admin_pb2.CreativeSpec(
        format=common_pb2.CREATIVE_FORMAT_BANNER, headline="x", body="y", image_url="https://cdn.example/x.png"
    )
    assert _fields(spec) == {"creative.image_url"}
