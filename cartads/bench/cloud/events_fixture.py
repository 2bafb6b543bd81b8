"""The events both halves of ``cartads-bench events`` send: impressions with valid tokens, billed to
one bench store's campaign."""

from __future__ import annotations

import dataclasses

from cartads.bench.cloud.signed_events import AdOrigin, signed_impressions
from cartads.v1.common_pb2 import CartEvent

STORE_ID = "bench-store"
BENCH_KEY = b"bench-signing-key-0123456789abcdef"
# Client channels of their own, each with its own connection.
CHANNEL_OPTIONS = [("grpc.so_reuseport", 0), ("grpc.use_local_subchannel_pool", 1)]

_ORIGIN = AdOrigin(
    store_id=STORE_ID,
    campaign_id="bench-campaign",
    line_item_id="bench-li",
    creative_id="bench-cr",
    advertiser_id="bench-adv",
    price_micros=2_000_000,
)


def bench_impressions(
    prefix: str, count: int, key: bytes = BENCH_KEY, key_id: str = "", version: str = ""
) -> list[CartEvent]:
    """Impressions with valid tokens (signed with ``key``, registered as ``key_id`` when given, served
    from index ``version``), each its own decision, decided long enough ago to be seen."""
    origin = dataclasses.replace(_ORIGIN, signing_key_id=key_id, index_version=version)
    return signed_impressions(origin, key, prefix, count)
