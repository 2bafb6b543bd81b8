"""When a sale's token vouches for it. Pure.

A sale (an attributed or halo purchase, made by the edge at checkout) carries the token of the ad
it is credited to. Unlike an impression or a click it may come long after that token was issued,
and, when the edge linked an earlier trip by the shopper's loyalty id, from another cart and trip:
so a sale is held to its token's store and ad, to the trip when it claims the same trip, and to the
longest attribution window any campaign may have, never to the token's time to live.
"""

from __future__ import annotations

from cartads.sales_windows import MAX_WINDOW_S
from cartads.v1 import common_pb2, tracking_pb2

SALE_TYPES = frozenset({common_pb2.EVENT_TYPE_ATTRIBUTED_SALE, common_pb2.EVENT_TYPE_HALO_SALE})


def sale_token_problem(
    event: common_pb2.CartEvent,
    payload: tracking_pb2.TrackingTokenPayload,
    store_id: str,
    receive_time_us: int,
    token_ttl_s: int,
) -> str:
    """Why a correctly signed token does not vouch for this sale, or "" when it does."""
    if payload.store_id != store_id:
        return f"token was issued for store {payload.store_id!r}"
    if not payload.ad_id or (event.ad_id and event.ad_id != payload.ad_id):
        return "token is for another ad"
    if not event.cross_trip and (payload.cart_id != event.cart_id or payload.session_id != event.session_id):
        return "token was issued in another trip, and the sale does not say it links trips"
    if receive_time_us and payload.issue_time_unix_ms:
        # The ad may be seen until its token expires, then credited for the longest window.
        age_ms = receive_time_us // 1000 - payload.issue_time_unix_ms
        if age_ms > (max(0, token_ttl_s) + MAX_WINDOW_S) * 1000:
            return "token is older than any attribution window"
    return ""
