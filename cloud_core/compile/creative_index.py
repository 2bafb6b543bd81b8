"""What the index says about a creative's image and a recipe's products, from the store's catalog. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cartads.v1 import admin_pb2, common_pb2, index_pb2
from cloud_core.compile.product_card import ProductCard, render_product_card


def aisle_hint(product: admin_pb2.Product, aisles: Mapping[str, admin_pb2.Aisle]) -> str:
    """ "aisle 24 — fresh fruits": where a shopper finds ``product`` in this store."""
    aisle = aisles.get(product.aisle_id)
    return f"aisle {product.aisle_id} — {aisle.display_name}" if aisle is not None else f"aisle {product.aisle_id}"


def default_card(spec: admin_pb2.CreativeSpec, products: Mapping[str, admin_pb2.Product]) -> ProductCard | None:
    """The generated card of a sponsored product without an uploaded image, None otherwise."""
    if spec.format != common_pb2.CREATIVE_FORMAT_SPONSORED_PRODUCT or spec.image_asset_sha256:
        return None
    product = products.get(spec.promoted_product_id)
    if product is None:
        return None
    return render_product_card(product.display_name, product.price_micros)


def creative_asset_fields(
    spec: admin_pb2.CreativeSpec, products: Mapping[str, admin_pb2.Product], aisles: Mapping[str, admin_pb2.Aisle]
) -> dict[str, Any]:
    """Keyword fields of the index's Creative: its image's hash and a recipe's items in this store.

    A recipe product missing from this store's catalog is left out rather than shown without an aisle.
    """
    items = [
        common_pb2.RecipeItem(
            product_id=p.product_id,
            name=p.display_name,
            aisle_id=p.aisle_id,
            location_hint=aisle_hint(p, aisles),
            price_micros=p.price_micros,
        )
        for pid in spec.recipe_product_ids
        if (p := products.get(pid)) is not None
    ]
    return {"image_asset_sha256": image_sha256(spec, products), "recipe_items": items}


def image_sha256(spec: admin_pb2.CreativeSpec, products: Mapping[str, admin_pb2.Product]) -> str:
    """The hash of the image the creative shows in this store: its generated card's, else its upload's."""
    card = default_card(spec, products)
    return card.sha256 if card else spec.image_asset_sha256


def index_asset_hashes(creatives: Iterable[common_pb2.Creative]) -> set[str]:
    """Every asset the given index creatives show."""
    return {c.image_asset_sha256 for c in creatives if c.image_asset_sha256}


def referenced_assets(index: index_pb2.StoreIndex) -> set[str]:
    """Every asset a store's index shows."""
    return index_asset_hashes(index.creatives)
