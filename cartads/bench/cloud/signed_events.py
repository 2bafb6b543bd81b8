"""Impressions with valid tracking tokens, as an edge would journal them: load for benchmarks and
fault tests that bill real events without running a real auction."""

from __future__ import annotations

import time
from dataclasses import dataclass

from cartads import tracking_token
from cartads.v1.common_pb2 import CartEvent, EventType, PricingModel
from cartads.v1.tracking_pb2 import TrackingTokenPayload


@dataclass(frozen=True)
class AdOrigin:
    """Who the impressions bill: the line item, its campaign and advertiser, and the CPM price."""

    store_id: str
    campaign_id: str
    line_item_id: str
    creative_id: str
    advertiser_id: str
    price_micros: int
    cart_id: str = "cart-1"
    session_id: str = "sess-1"
    # The edge's registered key and the index version the impressions were served from ("" for
    # tokens of the store's shared key, from before per-edge keys).
    signing_key_id: str = ""
    index_version: str = ""


def signed_impressions(
    origin: AdOrigin, key: bytes, prefix: str, count: int, issue_time_unix_ms: int | None = None
) -> list[CartEvent]:
    """``count`` CPM impressions, each its own decision ``{prefix}-{i}``, with tokens signed by ``key``.

    Honest ones: decided (by default) two seconds before now and visible for 1.2 s, so the invalid
    traffic rules (cartads/ivt.py: an impression comes at least a viewable second after its decision)
    bill them when they are uploaded within the token's lifetime."""
    issued_ms = int(time.time() * 1000) - 2_000 if issue_time_unix_ms is None else issue_time_unix_ms
    out = []
    for i in range(count):
        ad_id = f"{prefix}-{i}"
        payload = TrackingTokenPayload(
            ad_id=ad_id,
            store_id=origin.store_id,
            cart_id=origin.cart_id,
            session_id=origin.session_id,
            campaign_id=origin.campaign_id,
            line_item_id=origin.line_item_id,
            creative_id=origin.creative_id,
            advertiser_id=origin.advertiser_id,
            pricing_model=PricingModel.PRICING_MODEL_CPM,
            price_micros=origin.price_micros,
            issue_time_unix_ms=issued_ms,
            signing_key_id=origin.signing_key_id,
            index_version=origin.index_version,
        )
        out.append(
            CartEvent(
                event_id=f"ev-{ad_id}",
                type=EventType.EVENT_TYPE_IMPRESSION,
                cart_id=origin.cart_id,
                session_id=origin.session_id,
                ad_id=ad_id,
                tracking_token=tracking_token.sign(payload, key),
                visible_duration_ms=1_200,
            )
        )
    return out
