"""AssetService: an edge fetches the images its store's index refers to, by content hash."""

from __future__ import annotations

import structlog

from cartads import bounds
from cartads.rpc.errors import Ctx, InvalidArgumentError, NotFoundError, maps_errors
from cartads.time_units import now_us
from cartads.v1 import asset_pb2, asset_pb2_grpc
from cloud_core.access.edge_auth import require_store
from cloud_core.admin.creative_rules import is_sha256
from cloud_core.compile.product_card import CARD_HEIGHT_PX, CARD_WIDTH_PX, render_product_card
from cloud_core.storage.protocol import AssetStore, CatalogStore, TermsStore

log = structlog.get_logger("cloud.assets")

# Each asset is at most 2 MiB, so a full batch stays well below the cloud's message limit.
MAX_BATCH_ASSETS = 16


class AssetServicer(asset_pb2_grpc.AssetServiceServicer):
    """Uploaded assets from the database; generated product cards made again on first request."""

    def __init__(self, *, catalog: CatalogStore, assets: AssetStore, terms: TermsStore) -> None:
        self._catalog = catalog
        self._assets = assets
        self._terms = terms

    @maps_errors
    async def BatchGetAssets(  # noqa: N802
        self, request: asset_pb2.BatchGetAssetsRequest, context: Ctx
    ) -> asset_pb2.BatchGetAssetsResponse:
        violations = bounds.check_id(request.store_id, "store_id", required=True)
        if violations:
            raise InvalidArgumentError(violations)
        require_store(context, request.store_id)
        if len(request.sha256s) > MAX_BATCH_ASSETS:
            raise InvalidArgumentError([("sha256s", f"at most {MAX_BATCH_ASSETS} per call")])
        for i, sha in enumerate(request.sha256s):
            if not is_sha256(sha):
                raise InvalidArgumentError([(f"sha256s[{i}]", "must be a lowercase hex sha256")])
        if await self._catalog.get_store(request.store_id) is None:
            raise NotFoundError(f"store {request.store_id!r} does not exist", "store_id")
        asked = list(dict.fromkeys(request.sha256s))
        # Only what an index sent to this store shows: another store's (or advertiser's) uploads are
        # answered exactly as assets that do not exist, so an edge credential learns nothing of them.
        referenced = await self._terms.referenced_assets(request.store_id, asked) if asked else set()
        wanted = [sha for sha in asked if sha in referenced]
        found = {a.sha256: a for a in await self._assets.get_assets(wanted)}
        missing = [sha for sha in wanted if sha not in found]
        if missing:
            found.update(await self._generated_cards(request.store_id, set(missing)))
        return asset_pb2.BatchGetAssetsResponse(assets=[found[sha] for sha in wanted if sha in found])

    async def _generated_cards(self, store_id: str, wanted: set[str]) -> dict[str, asset_pb2.Asset]:
        """This store's default product cards among ``wanted``, stored so the next edge finds them."""
        out: dict[str, asset_pb2.Asset] = {}
        for name, price_micros in await self._assets.card_products(store_id):
            card = render_product_card(name, price_micros)
            if card.sha256 not in wanted or card.sha256 in out:
                continue
            asset = asset_pb2.Asset(
                sha256=card.sha256,
                content_type="image/svg+xml",
                width=CARD_WIDTH_PX,
                height=CARD_HEIGHT_PX,
                data=card.data,
            )
            await self._assets.put_asset(asset, False, now_us())
            out[card.sha256] = asset
        if out:
            log.info("product_cards_generated", store_id=store_id, count=len(out))
        return out
